"""Scale-out: jobs per second with 1 and with 8 worker processes through RabbitMQ and
PostgreSQL, on a note engine that only waits 0.25 s (I/O-bound, like a cloud provider).

Measured the way the scaled stack is deployed: `consulta serve` without workers in a child
process, and each worker a process of its own (bench/scaleout_worker.py: the worker's runtime
and WorkerGroup with the waiting engine registered) running one job at a time
(``CONSULTA_WORKER_CONCURRENCY=1``), so one worker's ideal is 4 jobs/s and eight workers' 32.

Each worker gets ``JOBS_PER_WORKER`` (40) jobs: 40 for one worker, 320 for eight, so that
both runs last about 10 s and the ramp-up (first delivery, last stragglers) weighs the same
in both. The jobs are created through CreateJob (their messages wait on the queue) while the
workers connect; once every worker has reported ready (broker and database connected) they
are all told to start consuming at the same instant. The time runs from that instant to the
last job's COMPLETED write (its ``updated_at``), read from the database with one COUNT query
every 0.2 s, so the poll neither loads the machine nor rounds the time.

    .venv/bin/python -m bench.scaleout                     # the figures
    .venv/bin/python -m bench.scaleout --profile before    # and py-spy on a worker and the server
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import scaleout_queries
from bench.common import RESULTS, child_server, fresh_postgres
from bench.profile import record, summarize
from bench.relay import AMQP
from core.auth import mint_token

JOBS_PER_WORKER = 40
READY_SECONDS = 60.0
RUN_SECONDS = 300.0
_COUNTS = text(
    "SELECT count(*) FILTER (WHERE state = 'completed'),"
    " count(*) FILTER (WHERE state IN ('failed', 'cancelled')),"
    " max(updated_at) FILTER (WHERE state = 'completed') FROM jobs"
)


async def _create_jobs(address: str, token: str, count: int) -> None:
    auth = (("authorization", f"Bearer {token}"),)
    config = job_pb2.JobConfig(engine_hints=job_pb2.EngineHints(summarizer="wait"))
    request = pb.CreateJobRequest(transcript_text="Doctor: hi.", config=config)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        for start in range(0, count, 16):
            await asyncio.gather(
                *(stub.CreateJob(request, metadata=auth) for _ in range(min(16, count - start)))
            )


async def _wait_ready(workers: list[asyncio.subprocess.Process]) -> None:
    for proc in workers:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), READY_SECONDS)
        if line.strip() != b"ready":
            raise RuntimeError(f"worker {proc.pid} did not start: {line!r}")


async def _finished_at(url: str, jobs: int) -> datetime:
    """Wait until ``jobs`` jobs are COMPLETED; the last one's COMPLETED write time."""
    engine = create_async_engine(url)
    deadline = time.monotonic() + RUN_SECONDS
    try:
        while True:
            async with engine.connect() as conn:
                done, failed, last = (await conn.execute(_COUNTS)).one()
            if failed:
                raise RuntimeError(f"{failed} jobs failed")
            if done == jobs:
                assert isinstance(last, datetime)
                return last
            if time.monotonic() > deadline:
                raise RuntimeError(f"{done}/{jobs} jobs completed in {RUN_SECONDS} s")
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def _measure(
    server_address: str, token: str, env: dict[str, str], workers: int, profile: Path | None
) -> tuple[float, float]:
    """Jobs per second, and the workers' CPU milliseconds per job (from go to their stop)."""
    jobs = workers * JOBS_PER_WORKER
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.scaleout_worker",
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    spies: list[subprocess.Popen[bytes]] = []
    try:
        await asyncio.gather(_create_jobs(server_address, token, jobs), _wait_ready(procs))
        if profile is not None:
            spies = [record(procs[0].pid, profile / "worker.txt")]
            await asyncio.sleep(1.0)  # py-spy attached
        started = datetime.now(UTC).replace(tzinfo=None)  # the form updated_at holds
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        last = await _finished_at(env["CONSULTA_DATABASE_URL"], jobs)
    finally:
        for spy in spies:
            spy.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
        cpu = 0.0
        for proc in procs:
            try:
                assert proc.stdout is not None
                out = await asyncio.wait_for(proc.stdout.read(), 30)
                cpu += float(out.split()[-1]) if out.startswith(b"cpu ") else 0.0
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
        for spy in spies:
            spy.wait(timeout=30)
    return jobs / (last - started).total_seconds(), 1000 * cpu / jobs


def jobs_per_second(workers: int, profile: Path | None = None) -> tuple[float, float]:
    """Jobs per second with ``workers`` worker processes, and their CPU ms per job."""
    database = asyncio.run(
        fresh_postgres(os.environ.get("CONSULTA_BENCH_SCALE_DB", "consulta_bench_scale"))
    )
    env = {
        "CONSULTA_DATABASE_URL": database,
        "CONSULTA_QUEUE_URL": AMQP,
        "CONSULTA_RABBITMQ_PREFIX": "bench-" + uuid.uuid4().hex[:6],
        "CONSULTA_RUN_WORKER": "false",
        "CONSULTA_WORKER_CONCURRENCY": "1",
        "CONSULTA_ALLOWED_SUMMARIZERS": json.dumps(["local", "wait"]),
        "CONSULTA_LOG_LEVEL": "WARNING",
    }
    with child_server(env) as server, tempfile.TemporaryDirectory() as folder:
        worker_env = {**os.environ, **env, "CONSULTA_DATA_DIR": folder}
        token = mint_token(server.secret, "bench")
        server_spy = None
        if profile is not None:
            server_spy = record(server.proc.pid, profile / "server.txt")
        try:
            rate = asyncio.run(_measure(server.address, token, worker_env, workers, profile))
        finally:
            if server_spy is not None:
                server_spy.send_signal(2)
                server_spy.wait(timeout=30)
            asyncio.run(_delete_queues(env["CONSULTA_RABBITMQ_PREFIX"]))
    return rate


async def _delete_queues(prefix: str) -> None:
    from core.queue.rabbitmq import RabbitJobQueue

    queue = RabbitJobQueue(AMQP, prefix=prefix)
    await queue.delete_queues()
    await queue.aclose()


def profile(name: str) -> Path:
    """The 8-worker run with py-spy on one worker and on the server; the top of both."""
    with tempfile.TemporaryDirectory() as folder:
        rate, cpu = jobs_per_second(8, Path(folder))
        report = f"scale-out, 8 worker processes: {rate:.2f} jobs/s, {cpu:.1f} CPU ms/job\n\n"
        for part in ("worker", "server"):
            raw = Path(folder) / f"{part}.txt"
            sampled = raw.read_text() if raw.exists() else ""
            top = summarize(sampled) if sampled.strip() else "no samples\n"
            report += f"== {part} (one process) ==\n{top}\n"
    out = RESULTS / f"profile-scaleout-{name}.txt"
    out.write_text(report)
    return out


def run() -> dict[str, float]:
    one, _ = jobs_per_second(1)
    eight, cpu = jobs_per_second(8)
    return {
        "workers_1_jobs_s": round(one, 2),
        "workers_8_jobs_s": round(eight, 2),
        "workers_8_vs_1": round(eight / one, 2),
        # What one job costs a worker process in CPU: on a shared 2-core machine the
        # 8-worker rate is bound by it (and by the neighbours' load).
        "workers_8_cpu_ms_per_job": round(cpu, 2),
        # Database round trips per job (bench/scaleout_queries.py): load-independent.
        **scaleout_queries.run(),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--profile"]:
        print(profile(sys.argv[2]))
    else:
        print(run())
