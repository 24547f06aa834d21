"""Domain errors. Adapters translate third-party exceptions into these (``raise ... from``);
the server's error interceptor turns them into status codes with google.rpc details once."""

from __future__ import annotations

from dataclasses import dataclass


class ConsultaError(Exception):
    """Base of every error Consulta means to show a caller. ``message`` is for people."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One malformed field: its path (``config.job.language_code``) and what is wrong."""

    field: str
    description: str
    #: The ErrorInfo reason this violation stands for when it is more specific than
    #: ``MALFORMED_FIELD`` (``ENGINE_NOT_ALLOWED``); empty for a plain malformed field.
    reason: str = ""


class InvalidArgument(ConsultaError):
    """The request is malformed; ``violations`` name each bad field."""

    def __init__(
        self,
        message: str,
        *,
        reason: str = "INVALID_ARGUMENT",
        violations: tuple[FieldViolation, ...] = (),
    ) -> None:
        super().__init__(message, reason=reason)
        self.violations = violations


class Unauthenticated(ConsultaError):
    """No valid token."""


class PermissionDenied(ConsultaError):
    """The caller is known but may not do this (its role, or a resource it may not name)."""


class NotFound(ConsultaError):
    """The thing does not exist, or belongs to someone else (indistinguishable on purpose)."""


class FailedPrecondition(ConsultaError):
    """The thing is not in a state that allows the call."""


class OutOfRange(ConsultaError):
    """A size or offset past what is allowed."""


class DataLoss(ConsultaError):
    """Bytes that do not match what was declared."""


class Unavailable(ConsultaError):
    """A dependency is down or the server is stopping; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, reason: str = "UNAVAILABLE", retry_after: float = 1.0):
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


class ResourceExhausted(Unavailable):
    """At capacity; retry after ``retry_after`` seconds."""


class AudioError(InvalidArgument):
    """Audio that cannot be used: empty, corrupt, truncated or not audio at all.

    ``reason`` is one of EMPTY_AUDIO, CORRUPT_AUDIO, UNSUPPORTED_AUDIO.
    """


class Aborted(ConsultaError):
    """The call was cut short (an idle upload stream); the caller may resume it."""
