"""Errors the client raises. Every grpc.aio.AioRpcError is translated here, once, into one of
these, carrying the status code, the message and the google.rpc details the server attached
(BadRequest field violations, ErrorInfo reason and metadata, RetryInfo delay), so that
callers and the CLI never handle gRPC's own exception type."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

import grpc
from google.rpc import error_details_pb2, status_pb2

# The trailing-metadata key under which servers put a serialized google.rpc.Status.
_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One malformed field of a request, as named by the server's google.rpc.BadRequest."""

    field: str
    description: str


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """The google.rpc details of a failed call that a person or a retry loop can use."""

    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    violations: tuple[FieldViolation, ...] = ()
    retry_delay: float | None = None


class ConsultaClientError(Exception):
    """Base of every error the client raises; ``message`` is meant for people."""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        details: ErrorDetails | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or ErrorDetails()

    @property
    def reason(self) -> str:
        return self.details.reason

    @property
    def violations(self) -> tuple[FieldViolation, ...]:
        return self.details.violations

    @property
    def retry_delay(self) -> float | None:
        return self.details.retry_delay

    def explain(self) -> str:
        """A few lines for a person: what failed, which fields, when to retry."""
        head = self.message
        if self.code is not None:
            head = f"{self.code.name.lower().replace('_', ' ')}: {head}"
        if self.reason:
            head = f"{head} [{self.reason}]"
        lines = [head]
        # Servers often repeat the violations in the message already: say each only once.
        lines.extend(
            f"  - {v.field}: {v.description}"
            for v in self.violations
            if v.description not in self.message
        )
        if self.retry_delay is not None:
            lines.append(f"  retry in {self.retry_delay:g} s")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        """The error as one JSON object for ``--json``: code, reason and message always, the
        field violations and retry delay when there are any."""
        data: dict[str, object] = {
            "code": self.code.name if self.code is not None else "CLIENT_ERROR",
            "reason": self.reason,
            "message": self.message,
        }
        if self.violations:
            data["field_violations"] = [
                {"field": v.field, "description": v.description} for v in self.violations
            ]
        if self.retry_delay is not None:
            data["retry_delay_seconds"] = self.retry_delay
        return data


class ConfigurationError(ConsultaClientError):
    """The client cannot even start: no token, a bad address, an unreadable file."""


class Unauthenticated(ConsultaClientError):
    """The token is missing, expired or not signed by this deployment."""


class PermissionDenied(ConsultaClientError):
    """A valid caller that may not do this."""


class InvalidArgument(ConsultaClientError):
    """The request or the audio is malformed; ``violations`` names each bad field."""


class NotFound(ConsultaClientError):
    """The job or upload does not exist, or belongs to someone else."""


class AlreadyExists(ConsultaClientError):
    """The thing already exists."""


class FailedPrecondition(ConsultaClientError):
    """The job is not in a state that allows the call."""


class OutOfRange(ConsultaClientError):
    """The audio is larger than the deployment allows."""


class DataLoss(ConsultaClientError):
    """The uploaded bytes do not match the declared size or SHA-256."""


class Unavailable(ConsultaClientError):
    """The server is down, stopping, or a dependency is; retry with backoff."""


class ResourceExhausted(Unavailable):
    """The server is at capacity; ``retry_delay`` says when to retry."""


class DeadlineExceeded(ConsultaClientError):
    """The call took longer than its deadline."""


class Cancelled(ConsultaClientError):
    """The call was cancelled."""


class ServerError(ConsultaClientError):
    """INTERNAL, UNKNOWN, UNIMPLEMENTED and the like: a fault on the server's side."""


_BY_CODE: dict[grpc.StatusCode, type[ConsultaClientError]] = {
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRange,
    grpc.StatusCode.DATA_LOSS: DataLoss,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
}


def details_from_status(status: status_pb2.Status) -> ErrorDetails:
    """The details a google.rpc.Status carries; unknown detail types are ignored."""
    reason, domain = "", ""
    metadata: dict[str, str] = {}
    violations: list[FieldViolation] = []
    retry_delay: float | None = None
    for any_detail in status.details:
        if any_detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            any_detail.Unpack(info)
            reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
        elif any_detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            any_detail.Unpack(bad)
            violations.extend(
                FieldViolation(field=v.field, description=v.description)
                for v in bad.field_violations
            )
        elif any_detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            any_detail.Unpack(retry)
            retry_delay = retry.retry_delay.ToTimedelta().total_seconds()
    return ErrorDetails(
        reason=reason,
        domain=domain,
        metadata=metadata,
        violations=tuple(violations),
        retry_delay=retry_delay,
    )


def _status_from_metadata(metadata: object) -> status_pb2.Status | None:
    # grpc_status.rpc_status.from_call raises when the status' code or message differ from the
    # call's; a client should still show what it got, so the trailer is parsed directly.
    # grpc-stubs type sync and aio metadata differently; both iterate as (key, value) pairs.
    if not isinstance(metadata, Iterable):
        return None
    for key, value in cast(Iterable[tuple[str, str | bytes]], metadata):
        if key == _DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except Exception:  # a garbled trailer must not hide the call's own error
                return None
    return None


def from_rpc_error(exc: grpc.RpcError) -> ConsultaClientError:
    """The client error for a failed call, with its google.rpc details."""
    code = exc.code()
    message = exc.details() or code.name
    status = _status_from_metadata(exc.trailing_metadata())
    details = details_from_status(status) if status is not None else ErrorDetails()
    cls = _BY_CODE.get(code, ServerError)
    return cls(message, code=code, details=details)
