"""A running Consulta for end-to-end tests: real servers on port 0 reached through real
channels, in the embedded default or scaled out on PostgreSQL, RabbitMQ and S3.

The scaled-out shape runs servers without workers and a worker group on its own runtime (its
own connections), the same split as ``consulta serve --no-worker`` plus ``consulta worker``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from prometheus_client import REGISTRY

from app.processes import start_server
from core.auth import mint_token
from core.runtime import open_runtime
from core.settings import Settings
from server.app import RunningServer, signing_secret
from workers.app import WorkerGroup


@dataclass
class Deployment:
    kind: str
    settings: Settings
    servers: list[RunningServer]
    workers: list[WorkerGroup] = field(default_factory=list)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def server(self) -> RunningServer:
        return self.servers[0]

    def token(
        self, user: str = "alice", *, tenant: str = "clinic-a", roles: Sequence[str] = ()
    ) -> str:
        return mint_token(signing_secret(self.settings), user, tenant=tenant, roles=tuple(roles))

    def auth(self, user: str = "alice", **kwargs: Any) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(user, **kwargs)}"),)

    def stub(self, index: int = 0) -> pb_grpc.TranscriptionServiceAsyncStub:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.servers[index].port}")
        self.channels.append(channel)
        return pb_grpc.TranscriptionServiceStub(channel)

    def channel(self, index: int = 0) -> grpc.aio.Channel:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.servers[index].port}")
        self.channels.append(channel)
        return channel

    async def add_worker(self) -> WorkerGroup:
        runtime = await open_runtime(self.settings, migrate=False)
        group = WorkerGroup(runtime)
        group.start()
        self.workers.append(group)
        return group

    async def stop(self) -> None:
        for channel in self.channels:
            await channel.close(None)
        for group in self.workers:
            await group.stop(5)
            await group.rt.aclose()
        for server in self.servers:
            await server.stop(1)


async def start_deployment(kind: str, settings: Settings, *, servers: int = 1) -> Deployment:
    running = []
    for _ in range(servers):
        running.append(await start_server(settings, run_worker=kind == "embedded"))
    deployment = Deployment(kind=kind, settings=settings, servers=running)
    if kind != "embedded":
        await deployment.add_worker()
    return deployment


async def run_to_end(
    stub: pb_grpc.TranscriptionServiceAsyncStub, job_id: str, metadata: Any, after: int = 0
) -> list[pb.WatchJobResponse]:
    """Every WatchJob message until the stream ends (bounded by a deadline)."""
    return [
        m
        async for m in stub.WatchJob(
            pb.WatchJobRequest(job_id=job_id, after_sequence=after),
            metadata=metadata,
            timeout=120,
        )
    ]


def uploaded_bytes() -> float:
    """Audio bytes the servers in this process have received, all uploads together."""
    return REGISTRY.get_sample_value("consulta_upload_bytes_total") or 0.0
