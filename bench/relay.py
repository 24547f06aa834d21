"""Live delivery: delay from a note delta's publication to its arrival at 100 concurrent
WatchJob clients, through the scaled-out path (PostgreSQL event log, RabbitMQ topic
exchange, a server process relaying to gRPC streams).

This process plays the worker: it records each delta in the database and publishes it on the
bus, with the time of publication (time.perf_counter_ns) as the delta's text; the clients
time its arrival. time.perf_counter is CLOCK_MONOTONIC, one clock for every process on the
machine, so publication and arrival compare across processes.

The clients are spread over CLIENT_PROCESSES processes (one channel each). Up to 2026-12-02
all 100 lived in this process, beside the publisher: one interpreter then received and
decoded the 100 copies of a delta one after the other, so the last stream's arrival included
the bench's own queueing. ``python -m bench.relay spread`` measures that share, clients in
one process against four, back to back (2026-12-02, load average 7-9 on 2 cores):

=========  ==========  ==========  ===================================
processes  p50 ms      p99 ms      first-to-last arrival of a delta
=========  ==========  ==========  ===================================
1          22.8, 16.2  59.6, 67.0  p50 5.9, 8.0; max 12.9, 15.4
4          14.1, 13.9  34.6, 32.7  p50 7.2, 12.8; max 17.2, 17.2
=========  ==========  ==========  ===================================

The spread itself is mostly the server writing 100 streams one after the other (it does not
shrink with more client processes), but one client interpreter adds about 25-35 ms to the
tail: nearly half of the old p99 was the bench. What is measured is unchanged: publication
to arrival at the client, for every client and every delta.

Each run has a database of its own (dropped at the end), so that benches run by others at
the same time never drop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from multiprocessing.connection import Connection
from pathlib import Path

import grpc
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import ChildServer, child_server, percentile
from core.auth import mint_token
from core.codec import note_delta_event, state_event
from core.db.migrate import upgrade_engine
from core.domain import JobState
from core.runtime import open_runtime
from core.settings import Settings

ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
CLIENTS = 100
CLIENT_PROCESSES = 4
#: Deltas per run, 50 ms apart. 100 since 2026-12-04: with 30, the 3,000 arrivals' p99 was
#: about the slowest delta's tail alone (one hiccup of the machine set it); with 100, a p99
#: is a percentile of 10,000 arrivals over 100 deltas.
DELTAS = 100

#: One arrival: (the delta's publication, its arrival), both time.perf_counter_ns.
Arrival = tuple[int, int]


async def _database(name: str, *, drop: bool = False) -> str:
    admin = create_async_engine(ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    if not drop:
        engine = create_async_engine(url)
        await upgrade_engine(engine)
        await engine.dispose()
    return url


async def _watch(
    address: str, token: str, job_id: str, count: int, ready: Connection
) -> list[Arrival]:
    """``count`` WatchJob streams on one channel; says on ``ready`` when all have their
    snapshot; every delta's (publication, arrival) until the job completes."""
    auth = (("authorization", f"Bearer {token}"),)
    arrivals: list[Arrival] = []
    connected = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)

        async def client() -> None:
            nonlocal connected
            stream = stub.WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=auth)
            async for message in stream:
                if message.HasField("snapshot"):
                    connected += 1
                    if connected == count:
                        ready.send(True)
                elif message.event.HasField("note_delta"):
                    arrivals.append((int(message.event.note_delta.text), time.perf_counter_ns()))
                elif message.event.state_changed.state in (4, 5, 6):
                    return

        await asyncio.wait_for(asyncio.gather(*(client() for _ in range(count))), 120)
    return arrivals


def _client_process(
    address: str, token: str, job_id: str, count: int, ready: Connection, out: Connection
) -> None:
    out.send(asyncio.run(_watch(address, token, job_id, count, ready)))


async def _create_job(address: str, token: str) -> str:
    auth = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        request = pb.CreateJobRequest(transcript_text="Doctor: hello.")
        return (await stub.CreateJob(request, metadata=auth)).job.job_id


async def _publish(settings: Settings, job_id: str, deltas: int) -> None:
    """Play the worker: ``deltas`` note deltas 50 ms apart, then the job completes."""
    runtime = await open_runtime(settings, migrate=False)
    try:
        worker = "bench-" + uuid.uuid4().hex[:6]
        job = await runtime.store.claim(job_id, worker, 60)
        assert job is not None
        seq = job.event_seq
        await asyncio.sleep(0.5)  # every subscription is bound before the first delta
        for _ in range(deltas):
            event = note_delta_event("plan", str(time.perf_counter_ns()))
            # As the worker writes a delta (workers/pipeline.py JobRun.record): with the
            # sequence it last saw, so PostgreSQL takes it in one statement.
            recorded = await runtime.store.record(
                job_id, worker, [event], lease_seconds=60, expected_seq=seq
            )
            assert recorded is not None
            seq = recorded.seq
            await runtime.publish_events(recorded)
            await asyncio.sleep(0.05)
        await runtime.publish_events(
            await runtime.store.record(
                job_id,
                worker,
                [state_event(JobState.COMPLETED)],
                lease_seconds=60,
                state=JobState.COMPLETED,
            )
        )
    finally:
        await runtime.aclose()


def measure(
    server: ChildServer, settings: Settings, token: str, processes: int, deltas: int = DELTAS
) -> tuple[list[Arrival], float]:
    """Every client's (publication, arrival) of every delta, the clients spread evenly over
    ``processes`` processes; and the server's CPU seconds while the deltas went out."""
    address = server.address
    job_id = asyncio.run(_create_job(address, token))
    context = multiprocessing.get_context("spawn")
    children = []
    for i in range(processes):
        count = CLIENTS // processes + (1 if i < CLIENTS % processes else 0)
        ready_in, ready_out = context.Pipe(duplex=False)
        result_in, result_out = context.Pipe(duplex=False)
        proc = context.Process(
            target=_client_process,
            args=(address, token, job_id, count, ready_out, result_out),
            daemon=True,
        )
        proc.start()
        children.append((proc, ready_in, result_in))
    try:
        for _, ready_in, _ in children:
            if not ready_in.poll(120):
                raise RuntimeError("the watchers did not connect in 120 s")
            ready_in.recv()
        cpu_before = _cpu_seconds(server.proc.pid)
        asyncio.run(_publish(settings, job_id, deltas))
        cpu = _cpu_seconds(server.proc.pid) - cpu_before
        arrivals: list[Arrival] = []
        for _, _, result_in in children:
            if not result_in.poll(120):
                raise RuntimeError("the watchers did not finish in 120 s")
            arrivals += result_in.recv()
        return arrivals, cpu
    finally:
        for proc, _, _ in children:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _delays_ms(arrivals: list[Arrival]) -> list[float]:
    return [(arrival - sent) / 1e6 for sent, arrival in arrivals]


def _spreads_ms(arrivals: list[Arrival]) -> list[float]:
    """Per delta, the time between its first and its last arrival."""
    by_delta: dict[int, list[int]] = defaultdict(list)
    for sent, arrival in arrivals:
        by_delta[sent].append(arrival)
    return [(max(times) - min(times)) / 1e6 for times in by_delta.values()]


def run_arrivals(
    processes: int = CLIENT_PROCESSES,
    deltas: int = DELTAS,
    around: Callable[[ChildServer], AbstractContextManager[object]] | None = None,
) -> tuple[list[Arrival], float]:
    """One bench run against a fresh scaled-out server: every (publication, arrival), and
    the server's CPU seconds while the deltas went out.
    ``around`` wraps the measurement (bench/profile_relay.py samples the server in it)."""
    database = "consulta_bench_relay_" + uuid.uuid4().hex[:8]
    url = asyncio.run(_database(database))
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
            token = mint_token(server.secret, "b")
            with around(server) if around is not None else contextlib.nullcontext():
                arrivals, cpu = measure(server, settings, token, processes, deltas)
    finally:
        asyncio.run(_database(database, drop=True))
    assert len(arrivals) == CLIENTS * deltas, len(arrivals)
    return arrivals, cpu


def run(processes: int = CLIENT_PROCESSES) -> dict[str, float]:
    arrivals, cpu = run_arrivals(processes)
    delays = _delays_ms(arrivals)
    return {
        "relay_clients": CLIENTS,
        "relay_p50_ms": round(percentile(delays, 50), 2),
        "relay_p99_ms": round(percentile(delays, 99), 2),
        # The server's CPU time per delta (100 streams' messages), which the machine's load
        # moves far less than the latencies.
        "relay_server_cpu_ms_per_delta": round(cpu / DELTAS * 1000, 2),
    }


def spread(processes: int) -> dict[str, float]:
    """The delays and, per delta, the first-to-last arrival spread with the clients in
    ``processes`` processes."""
    arrivals, _ = run_arrivals(processes)
    delays, spreads = _delays_ms(arrivals), _spreads_ms(arrivals)
    return {
        "processes": processes,
        "p50_ms": round(percentile(delays, 50), 2),
        "p99_ms": round(percentile(delays, 99), 2),
        "spread_p50_ms": round(percentile(spreads, 50), 2),
        "spread_max_ms": round(max(spreads), 2),
    }


if __name__ == "__main__":
    # `python -m bench.relay spread`: clients in 1 process, then in 4, back to back.
    if sys.argv[1:] == ["spread"]:
        for n in (1, CLIENT_PROCESSES, 1, CLIENT_PROCESSES):
            print(spread(n), flush=True)
    else:
        print(run())
