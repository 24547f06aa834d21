"""WatchJob under load (issue 16): GetJob latency while 300 watchers churn and jobs run, and
how many WatchJob calls end UNAVAILABLE.

A scaled-out server (PostgreSQL, RabbitMQ, no worker) runs in a child process. A second child
plays the load: it claims JOBS jobs and records an event for each every EVENT_EVERY seconds
(what transcribing workers do: segments and progress), creates a job a second, and keeps
WATCHERS WatchJob streams open, each cancelled after a random while and opened again on
another job. This process only times GetJob at GETJOB_RATE calls a second, first with nothing
else going on (the reference on the same machine in the same run), then during the load, so
the client's own work does not land in the figure.

Figures: ``getjob_p99_ms_idle`` (reference), ``getjob_p99_ms_under_watch`` (goal: at most
twice the reference), ``relay_soak_unavailable`` (goal: 0) and ``relay_soak_watch_calls``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path

import grpc
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import child_server, percentile
from core.auth import mint_token
from core.codec import progress_event, state_event
from core.db.migrate import upgrade_engine
from core.domain import JobState
from core.runtime import open_runtime
from core.settings import Settings

ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
WATCHERS = 300
JOBS = 10
EVENT_EVERY = 0.1
GETJOB_RATE = 30.0
SECONDS = 20.0


async def _database(name: str, *, drop: bool = False) -> None:
    admin = create_async_engine(ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    if not drop:
        engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        await upgrade_engine(engine)
        await engine.dispose()


async def _getjob_latencies(address: str, token: str, job_id: str, seconds: float) -> list[float]:
    """GetJob at GETJOB_RATE a second for ``seconds``; each call's latency."""
    auth = (("authorization", f"Bearer {token}"),)
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        await stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=auth)  # warm-up

        async def one() -> None:
            start = time.perf_counter()
            await stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=auth)
            latencies.append(time.perf_counter() - start)

        calls = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            calls.append(asyncio.create_task(one()))
            await asyncio.sleep(1 / GETJOB_RATE)
        await asyncio.gather(*calls)
    return latencies


async def _load(
    address: str, token: str, settings: Settings, seconds: float, churn: bool = True
) -> tuple[int, int, int]:
    """Running jobs, arrivals and watchers for ``seconds``: (unavailable, calls, messages
    received). Without
    ``churn`` each watcher stays on one job to its end: live fan-out only, no replays."""
    rng = random.Random(16)
    auth = (("authorization", f"Bearer {token}"),)
    runtime = await open_runtime(settings, migrate=False)
    codes: list[grpc.StatusCode] = []
    received = 0
    end = time.perf_counter() + seconds
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)

        async def create() -> str:
            request = pb.CreateJobRequest(transcript_text="Doctor: hello.")
            return (await stub.CreateJob(request, metadata=auth)).job.job_id

        jobs = [await create() for _ in range(JOBS)]
        worker = "bench-" + uuid.uuid4().hex[:6]
        for job_id in jobs:
            assert await runtime.store.claim(job_id, worker, 600) is not None

        async def transcribe(job_id: str) -> None:
            n = 0
            while time.perf_counter() < end:
                n += 1
                event = progress_event(n * EVENT_EVERY, seconds, "words ")
                await runtime.publish_events(
                    await runtime.store.record(job_id, worker, [event], lease_seconds=600)
                )
                await asyncio.sleep(EVENT_EVERY)
            await runtime.publish_events(
                await runtime.store.record(
                    job_id,
                    worker,
                    [state_event(JobState.COMPLETED)],
                    lease_seconds=600,
                    state=JobState.COMPLETED,
                )
            )

        async def arrivals() -> None:
            while time.perf_counter() < end:
                jobs.append(await create())
                await asyncio.sleep(1.0)

        async def watcher() -> None:
            while time.perf_counter() < end:
                call = stub.WatchJob(pb.WatchJobRequest(job_id=rng.choice(jobs)), metadata=auth)

                async def read(call: grpc.aio.UnaryStreamCall = call) -> None:  # type: ignore[type-arg]
                    nonlocal received
                    async for _ in call:
                        received += 1

                reader = asyncio.create_task(read())
                await asyncio.wait({reader}, timeout=rng.uniform(0.5, 5.0) if churn else None)
                call.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                codes.append(await call.code())

        await asyncio.gather(
            *(transcribe(j) for j in list(jobs)),
            arrivals(),
            *(watcher() for _ in range(WATCHERS)),
        )
    await runtime.aclose()
    return codes.count(grpc.StatusCode.UNAVAILABLE), len(codes), received


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load_process(
    address: str, token: str, settings: Settings, seconds: float, churn: bool, out: Connection
) -> None:
    out.send(asyncio.run(_load(address, token, settings, seconds, churn)))


def run(churn: bool = True) -> dict[str, float]:
    database = "consulta_bench_" + uuid.uuid4().hex[:8]
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    asyncio.run(_database(database))
    prefix = "bench-" + uuid.uuid4().hex[:6]
    env = {
        "CONSULTA_DATABASE_URL": url,
        "CONSULTA_QUEUE_URL": AMQP,
        "CONSULTA_RABBITMQ_PREFIX": prefix,
        "CONSULTA_RUN_WORKER": "false",
    }
    try:
        with child_server(env) as server:
            settings = Settings(database_url=url, queue_url=AMQP, rabbitmq_prefix=prefix)
            token = mint_token(server.secret, "bench")

            async def probe_job() -> str:
                async with grpc.aio.insecure_channel(server.address) as channel:
                    stub = pb_grpc.TranscriptionServiceStub(channel)
                    request = pb.CreateJobRequest(transcript_text="Doctor: hello.")
                    auth = (("authorization", f"Bearer {token}"),)
                    return (await stub.CreateJob(request, metadata=auth)).job.job_id

            job_id = asyncio.run(probe_job())
            idle = asyncio.run(_getjob_latencies(server.address, token, job_id, 10.0))
            context = multiprocessing.get_context("spawn")
            receive, send = context.Pipe(duplex=False)
            load = context.Process(
                target=_load_process, args=(server.address, token, settings, SECONDS, churn, send)
            )
            cpu_before = _cpu_seconds(server.proc.pid)
            load.start()
            time.sleep(3.0)  # the watchers are open and the jobs running
            busy = asyncio.run(_getjob_latencies(server.address, token, job_id, SECONDS - 6))
            unavailable, calls, messages = receive.recv()
            load.join(60)
            cpu = _cpu_seconds(server.proc.pid) - cpu_before
    finally:
        asyncio.run(_database(database, drop=True))
    idle_p99 = percentile(idle, 99) * 1000
    busy_p99 = percentile(busy, 99) * 1000
    return {
        "relay_soak_watchers": WATCHERS,
        "relay_soak_churn": int(churn),
        "relay_soak_watch_calls": calls,
        "relay_soak_unavailable": unavailable,
        "relay_soak_messages": messages,
        # The server's CPU time for the whole load (streams, relay, GetJob, database reads).
        "relay_soak_server_cpu_s": round(cpu, 2),
        "getjob_p99_ms_idle": round(idle_p99, 2),
        "getjob_p50_ms_under_watch": round(percentile(busy, 50) * 1000, 2),
        "getjob_p99_ms_under_watch": round(busy_p99, 2),
        "getjob_under_watch_vs_idle": round(busy_p99 / idle_p99, 2),
    }


if __name__ == "__main__":
    import sys

    # `python -m bench.relay_soak steady`: watchers that stay, to weigh live fan-out alone.
    print(run(churn=sys.argv[1:] != ["steady"]))
