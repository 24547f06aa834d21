"""A live UploadAudio stream that a test feeds chunk by chunk, reading the server's answers
(statuses, the job, forwarded events) as they come."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from tests.e2e.deployment import Deployment

EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]  # missing from grpc-stubs


def live_config(**job: Any) -> pb.UploadConfig:
    return pb.UploadConfig(
        live=True, filename="visit.wav", job=job_pb2.JobConfig(language_code="en", **job)
    )


class LiveStream:
    """One live upload; ``events`` collects every forwarded event in arrival order."""

    def __init__(
        self,
        deployment: Deployment,
        *,
        server: int = 0,
        user: str = "alice",
        stub: pb_grpc.TranscriptionServiceAsyncStub | None = None,
        timeout: float = 60,
    ) -> None:
        self.outbox: asyncio.Queue[pb.UploadAudioRequest | None] = asyncio.Queue()
        self.call: Any = (stub or deployment.stub(server)).UploadAudio(
            self._requests(), metadata=deployment.auth(user), timeout=timeout
        )
        self.events: list[pb.JobEvent] = []
        self.sent = 0

    async def _requests(self) -> AsyncIterator[pb.UploadAudioRequest]:
        while (message := await self.outbox.get()) is not None:
            yield message

    def send(self, message: pb.UploadAudioRequest | None) -> None:
        self.outbox.put_nowait(message)

    async def open(self, config: pb.UploadConfig) -> tuple[pb.UploadStatus, job_pb2.Job]:
        """Sends the config; the first status and the job that answer it."""
        self.send(pb.UploadAudioRequest(config=config))
        status = await self.next_status()
        job = await self.next_job()
        self.sent = status.committed_offset
        return status, job

    def chunk(self, data: bytes, *, finish: bool = False) -> None:
        self.send(
            pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=self.sent, data=data, finish=finish))
        )
        self.sent += len(data)

    async def _next(self, kind: str) -> Any:
        while True:
            response = await self.call.read()
            assert response is not EOF, f"the stream ended before a {kind}"
            if response.HasField("event"):
                self.events.append(response.event)
                if kind != "event":
                    continue
            assert response.HasField(kind), response
            return getattr(response, kind)

    async def next_status(self) -> pb.UploadStatus:
        status: pb.UploadStatus = await self._next("status")
        return status

    async def next_job(self) -> job_pb2.Job:
        job: job_pb2.Job = await self._next("job")
        return job

    async def until_end(self) -> list[pb.UploadAudioResponse]:
        """Every answer left, events recorded too."""
        rest = []
        try:
            while (response := await self.call.read()) is not EOF:
                if response.HasField("event"):
                    self.events.append(response.event)
                rest.append(response)
        finally:
            self.send(None)  # the request generator ends too, not left pending
        return rest

    async def error(self) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self.until_end()
        return caught.value

    def close(self) -> None:
        self.send(None)
        self.call.cancel()
