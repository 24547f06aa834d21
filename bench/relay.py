"""Live delivery: delay from a note delta's publication to its arrival at 100 concurrent
WatchJob clients, through the scaled-out path (PostgreSQL event log, RabbitMQ topic
exchange, a server process relaying to gRPC streams).

This process plays the worker: it records each delta in the database, publishes it on the
bus, and the clients (also here) time its arrival. time.perf_counter is CLOCK_MONOTONIC, one
clock for every process on the machine.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import child_server, percentile
from core.auth import mint_token
from core.codec import note_delta_event, state_event
from core.db.migrate import upgrade_engine
from core.domain import JobState
from core.runtime import open_runtime
from core.settings import Settings

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/consulta_bench"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
CLIENTS = 100
DELTAS = 30


async def fresh_database() -> None:
    admin = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text("DROP DATABASE IF EXISTS consulta_bench WITH (FORCE)"))
        await conn.execute(text("CREATE DATABASE consulta_bench"))
    await admin.dispose()
    engine = create_async_engine(POSTGRES)
    await upgrade_engine(engine)
    await engine.dispose()


async def measure(address: str, settings: Settings, token: str) -> list[float]:
    runtime = await open_runtime(settings, migrate=False)
    auth = (("authorization", f"Bearer {token}"),)
    delays: list[float] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        job = (
            await stub.CreateJob(
                pb.CreateJobRequest(transcript_text="Doctor: hello."), metadata=auth
            )
        ).job
        ready = asyncio.Event()
        connected = 0

        async def client() -> None:
            nonlocal connected
            stream = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=auth)
            async for message in stream:
                if message.HasField("snapshot"):
                    connected += 1
                    if connected == CLIENTS:
                        ready.set()
                elif message.event.HasField("note_delta"):
                    sent = int(message.event.note_delta.text)
                    delays.append((time.perf_counter_ns() - sent) / 1e9)
                elif message.event.state_changed.state in (4, 5, 6):
                    return

        clients = [asyncio.create_task(client()) for _ in range(CLIENTS)]
        await asyncio.wait_for(ready.wait(), 60)
        worker = "bench-" + uuid.uuid4().hex[:6]
        assert await runtime.store.claim(job.job_id, worker, 60) is not None
        await asyncio.sleep(0.5)  # every subscription is bound before the first delta
        for _ in range(DELTAS):
            event = note_delta_event("plan", str(time.perf_counter_ns()))
            await runtime.publish_events(
                await runtime.store.record(job.job_id, worker, [event], lease_seconds=60)
            )
            await asyncio.sleep(0.05)
        await runtime.publish_events(
            await runtime.store.record(
                job.job_id,
                worker,
                [state_event(JobState.COMPLETED)],
                lease_seconds=60,
                state=JobState.COMPLETED,
            )
        )
        await asyncio.wait_for(asyncio.gather(*clients), 60)
    await runtime.aclose()
    return delays


def run() -> dict[str, float]:
    asyncio.run(fresh_database())
    env = {
        "CONSULTA_DATABASE_URL": POSTGRES,
        "CONSULTA_QUEUE_URL": AMQP,
        "CONSULTA_RABBITMQ_PREFIX": "bench-" + uuid.uuid4().hex[:6],
        "CONSULTA_RUN_WORKER": "false",
    }
    with child_server(env) as server:
        settings = Settings(
            database_url=POSTGRES, queue_url=AMQP, rabbitmq_prefix=env["CONSULTA_RABBITMQ_PREFIX"]
        )
        delays = asyncio.run(measure(server.address, settings, mint_token(server.secret, "b")))
    assert len(delays) == CLIENTS * DELTAS, len(delays)
    return {
        "relay_clients": CLIENTS,
        "relay_p50_ms": round(percentile(delays, 50) * 1000, 2),
        "relay_p99_ms": round(percentile(delays, 99) * 1000, 2),
    }


if __name__ == "__main__":
    print(run())
