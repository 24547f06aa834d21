"""Roles and the audit log, for every call in one place.

:class:`AccessInterceptor` runs inside the auth interceptor (the caller is known) and
around the servicer: it refuses a call the caller's roles do not allow (the table in
``server/roles.py``), and records an audit event for every call that reads or changes a job's
patient data, every call to the audit log or the retention policy, and every refusal.

A call is recorded once, before patient data leaves the server: a unary call after the
servicer returns and before the response is sent, a stream before the first message that
carries the job (WatchJob's snapshot, UploadAudio's final job). When the audit log cannot be
written the caller gets UNAVAILABLE instead of the data. A call that fails is recorded with
its status code when it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import code_pb2

from core import errors
from core.auth import Principal
from core.db.audit import AuditEntry
from core.db.audit_batch import AuditWriter
from server import roles
from server.interceptors import (
    PUBLIC_PREFIXES,
    Behaviour,
    WrappingInterceptor,
    current_principal,
    to_status,
)

log = logging.getLogger(__name__)

#: RPCs recorded on every call. GetJob is recorded when it returns a presigned audio URL.
AUDITED = frozenset(
    {
        "UploadAudio",
        "GetUploadStatus",
        "CreateJob",
        "GetTranscript",
        "GetSummary",
        "WatchJob",
        "CancelJob",
        "DeleteJob",
        "ListAuditEvents",
        "SetRetentionPolicy",
    }
)


def _audited(rpc: str, request: Any) -> bool:
    if rpc == "GetJob":
        return bool(getattr(request, "include_audio_url", False))
    return rpc in AUDITED


def _job_of(message: Any) -> str:
    """The job a request or response names: ``job_id``, ``upload_id`` or ``job.job_id``."""
    if not isinstance(message, Message):
        return ""
    fields = message.DESCRIPTOR.fields_by_name
    for name in ("job_id", "upload_id"):
        if name in fields and getattr(message, name):
            return str(getattr(message, name))
    if "job" in fields and message.HasField("job"):
        generic: Any = message  # any message with a `job` field
        return str(generic.job.job_id)
    return ""


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, errors.ConsultaError):
        return str(code_pb2.Code.Name(to_status(exc).code))
    if isinstance(exc, (asyncio.CancelledError, GeneratorExit)):
        return "CANCELLED"
    return "INTERNAL"


class _Call:
    """One call's audit record, written at most once."""

    def __init__(self, writer: AuditWriter, principal: Principal, rpc: str, audited: bool) -> None:
        self.writer, self.principal, self.rpc, self.audited = writer, principal, rpc, audited
        self.job_id = ""
        self.done = False

    def entry(self, outcome: str) -> AuditEntry:
        return AuditEntry(
            subject=self.principal.subject,
            tenant=self.principal.tenant,
            roles=roles.roles_of(self.principal),
            action=self.rpc,
            job_id=self.job_id,
            outcome=outcome,
        )

    async def ok(self) -> None:
        if self.audited and not self.done:
            self.done = True
            await self.writer.record(self.entry("OK"))

    async def failed(self, exc: BaseException) -> None:
        outcome = _outcome(exc)
        if self.done or not (self.audited or outcome == "PERMISSION_DENIED"):
            return
        self.done = True
        try:
            # Shielded: a cancelled call's record must still be written.
            await asyncio.shield(self.writer.record(self.entry(outcome)))
        except Exception:
            log.error("could not record an audit event for %s (%s)", self.rpc, outcome)


class AccessInterceptor(WrappingInterceptor):
    """Enforces ``server.roles.ALLOWED`` and writes the audit log."""

    def __init__(self, writer: AuditWriter) -> None:
        #: Rows of concurrent calls share a transaction (core/db/audit_batch.py); the runtime
        #: that owns the writer drains it before the database closes.
        self._writer = writer

    def intercept(self, handler: Any, details: grpc.HandlerCallDetails) -> Any:
        # Health and reflection have no caller to check or audit (load balancers, grpcurl).
        if details.method.startswith(PUBLIC_PREFIXES):
            return handler
        return super().intercept(handler, details)

    def _start(self, method: str, request: Any) -> _Call:
        rpc = method.rsplit("/", 1)[-1]
        principal = current_principal()
        call = _Call(self._writer, principal, rpc, _audited(rpc, request))
        call.job_id = _job_of(request)
        return call

    def wrap(self, behaviour: Behaviour, streaming: bool, method: str) -> Behaviour:
        if streaming:

            async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
                call = self._start(method, request)
                try:
                    roles.require(call.principal, call.rpc)
                    # Until the call is recorded, each message may be the first that names
                    # the job, and it leaves only after the record is written; once recorded
                    # (or never to be) the rest pass with no work per message (a WatchJob
                    # stream's every event, bench/relay.py). The inner stream is never held
                    # in a local: a traceback keeping this frame alive would keep it open.
                    recording = True
                    async for response in behaviour(request, context):
                        if recording:
                            call.job_id = call.job_id or _job_of(response)
                            if call.job_id:
                                await call.ok()
                            recording = call.audited and not call.done
                        yield response
                    await call.ok()
                except BaseException as exc:
                    await call.failed(exc)
                    raise

            return stream

        async def unary(request: Any, context: Any) -> Any:
            call = self._start(method, request)
            try:
                roles.require(call.principal, call.rpc)
                response = await behaviour(request, context)
                call.job_id = call.job_id or _job_of(response)
                await call.ok()
            except BaseException as exc:
                await call.failed(exc)
                raise
            return response

        return unary
