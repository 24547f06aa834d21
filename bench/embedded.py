"""Concurrency on the embedded default: ten clients upload the sample consultation at once;
wall time until all ten jobs are COMPLETED (transcript and note), for a number of jobs at
once (``worker_concurrency``) and CPU threads per transcription (``whisper_threads``).

    .venv/bin/python -m bench.embedded          # the defaults and the 1-vs-2 comparison
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from app.processes import start_server
from bench.common import in_process_settings
from core.auth import mint_token
from core.settings import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "consultation.mp3"
# Ten by default (the figure); fewer for a quick comparison on a busy machine.
CLIENTS = int(os.environ.get("CONSULTA_BENCH_EMBEDDED_CLIENTS", "10"))


Auth = tuple[tuple[str, str], ...]


async def one_client(stub: pb_grpc.TranscriptionServiceAsyncStub, auth: Auth, data: bytes) -> None:
    async def requests() -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(config=pb.UploadConfig())
        yield pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=0, data=data, finish=True))

    job = None
    async for response in stub.UploadAudio(requests(), metadata=auth):
        job = response.job if response.HasField("job") else job
    assert job is not None
    async for message in stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=auth):
        state = message.event.state_changed.state
        if state in (job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED):
            raise RuntimeError(f"job {job.job_id} ended in state {state}")


async def ten_jobs_seconds(concurrency: int | None = None, threads: int | None = None) -> float:
    """Wall time for ten simultaneous uploads to finish; None means the setting's default."""
    chosen: dict[str, int] = {}
    if concurrency is not None:
        chosen["worker_concurrency"] = concurrency
    if threads is not None:
        chosen["whisper_threads"] = threads
    with tempfile.TemporaryDirectory() as folder:
        settings = in_process_settings(Path(folder), **chosen)
        server = await start_server(settings)
        # Ten clients, ten callers: one caller may hold only a few uploads open at once.
        auths = [
            (("authorization", f"Bearer {mint_token(settings.jwt_secret, f'clinic-{n}')}"),)
            for n in range(CLIENTS)
        ]
        data = SAMPLE.read_bytes()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                stub: pb_grpc.TranscriptionServiceAsyncStub = pb_grpc.TranscriptionServiceStub(
                    channel
                )
                start = time.perf_counter()
                await asyncio.wait_for(
                    asyncio.gather(*(one_client(stub, auth, data) for auth in auths)),
                    timeout=900,
                )
                return time.perf_counter() - start
        finally:
            await server.stop(1)


def run() -> dict[str, float | int]:
    defaults = Settings(jwt_secret="x" * 40)
    figures: dict[str, float | int] = {
        "embedded_10_jobs_s": round(asyncio.run(ten_jobs_seconds()), 2),
        "embedded_concurrency": defaults.worker_concurrency,
        "embedded_whisper_threads": defaults.whisper_threads,
        "embedded_cores": os.cpu_count() or 0,
    }
    if os.environ.get("CONSULTA_BENCH_EMBEDDED_COMPARE", "1") == "1":
        # The choice behind the defaults: one job at a time on every core, against one job
        # per core with one thread each.
        for concurrency, threads in ((1, 2), (2, 1)):
            key = f"embedded_10_jobs_{concurrency}x{threads}_s"
            figures[key] = round(asyncio.run(ten_jobs_seconds(concurrency, threads)), 2)
            print(f"{key}: {figures[key]}", flush=True)  # each takes minutes
    return figures


if __name__ == "__main__":
    print(run())
