"""An in-process gRPC server with the real interceptor chain around a tiny scripted servicer.

The chain is the server's own (``server.app.call_interceptors``: context, errors, auth,
access; only the tracing interceptor before them is left out), over a real SQLite job store
for the audit log, and the calls go through a real channel on 127.0.0.1. The servicer does
only what a test tells it: raise an error, or answer; and it writes down the log context it
ran with and logs one line.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_health.v1 import health, health_pb2_grpc
from grpc_status import rpc_status
from sqlalchemy import select

from core import logs
from core.auth import mint_token, verify_token
from core.db.audit_batch import AuditWriter
from core.db.engine import create_engine
from core.db.migrate import upgrade_engine
from core.db.models import AuditRow
from core.db.store import JobStore
from core.settings import Settings
from server.app import call_interceptors

SECRET = "unit-test-secret-of-enough-length-0123456789"
log = logging.getLogger("tests.server.servicer")
M = TypeVar("M", bound=Message)
Metadata = tuple[tuple[str, str], ...]


@dataclass
class Scripted(pb_grpc.TranscriptionServiceServicer):
    """GetJob, GetTranscript and WatchJob that raise ``error`` when set (WatchJob after its
    first message, and only once ``gate`` is set), and remember each call's log context."""

    error: BaseException | None = None
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    ran: list[str] = field(default_factory=list)
    contexts: list[dict[str, str]] = field(default_factory=list)

    def _enter(self, rpc: str) -> None:
        self.ran.append(rpc)
        self.contexts.append(logs.current())
        log.info("servicer ran %s", rpc)

    async def GetJob(self, request: pb.GetJobRequest, context: Any) -> pb.GetJobResponse:
        self._enter("GetJob")
        if self.error is not None:
            raise self.error
        return pb.GetJobResponse(job=job_pb2.Job(job_id=request.job_id))

    async def GetTranscript(
        self, request: pb.GetTranscriptRequest, context: Any
    ) -> pb.GetTranscriptResponse:
        self._enter("GetTranscript")
        if self.error is not None:
            raise self.error
        return pb.GetTranscriptResponse(transcript=job_pb2.Transcript())

    async def WatchJob(
        self, request: pb.WatchJobRequest, context: Any
    ) -> AsyncIterator[pb.WatchJobResponse]:
        self._enter("WatchJob")
        yield pb.WatchJobResponse(snapshot=job_pb2.Job(job_id=request.job_id))
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        yield pb.WatchJobResponse(event=pb.JobEvent(sequence=1))


@dataclass
class Harness:
    servicer: Scripted
    store: JobStore
    channel: grpc.aio.Channel
    stub: pb_grpc.TranscriptionServiceAsyncStub

    async def audit_rows(self) -> list[AuditRow]:
        async with self.store.sessions() as session:
            return list((await session.scalars(select(AuditRow).order_by(AuditRow.id))).all())


def bearer(
    subject: str = "alice", *, tenant: str = "clinic-a", roles: Sequence[str] = ()
) -> Metadata:
    """Metadata with a valid token for ``subject``."""
    token = mint_token(SECRET, subject, tenant=tenant, roles=tuple(roles))
    return (("authorization", f"Bearer {token}"),)


async def start(tmp_path: Path) -> tuple[Harness, grpc.aio.Server]:
    """The server started on a free port and a harness with a channel to it."""
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    )
    engine = create_engine(settings)
    await upgrade_engine(engine)
    store = JobStore(engine)
    verify = functools.partial(verify_token, secret=SECRET)
    server = grpc.aio.server(interceptors=call_interceptors(AuditWriter(store), verify))
    # Scripted answers only the RPCs the tests call; the others stay abstract on purpose.
    servicer = Scripted()  # type: ignore[abstract]
    pb_grpc.add_TranscriptionServiceServicer_to_server(servicer, server)
    # grpc_health ships no stub for its aio module.
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub: pb_grpc.TranscriptionServiceAsyncStub = pb_grpc.TranscriptionServiceStub(channel)
    return Harness(servicer, store, channel, stub), server


async def stop(harness: Harness, server: grpc.aio.Server) -> None:
    await harness.channel.close(None)
    await server.stop(None)
    await harness.store.engine.dispose()
    await harness.store.aclose_readers()


def status_of(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status a failed call carried (its code, message and details)."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"no google.rpc.Status on {error.code()}: {error.details()}"
    return status


def detail(status: status_pb2.Status, kind: type[M]) -> M | None:
    """The one detail of ``kind`` (an ErrorInfo, BadRequest, RetryInfo) the status carries."""
    found = [d for d in status.details if d.Is(kind.DESCRIPTOR)]
    assert len(found) <= 1
    if not found:
        return None
    message = kind()
    found[0].Unpack(message)
    return message
