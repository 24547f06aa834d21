"""GetJob and ListJobs throughput and latency at 64 calls in flight, against a bare unary echo
measured in the same run, on the embedded default (SQLite) and on PostgreSQL, and the server's
CPU time per GetJob (``getjob_server_cpu_us``, ``getjob_pg_server_cpu_us``), which moves far less
than the ratios when other work shares the machine."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable

import grpc
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from bench.common import child_server, cpu_seconds, fresh_postgres, percentile
from bench.upload import bare_server
from core.auth import mint_token

IN_FLIGHT = 64
# Its own database, so a bench run never drops another bench's (relay, scale-out) tables.
PG_DATABASE = os.environ.get("CONSULTA_BENCH_READS_DB", "consulta_bench_reads")


async def pg_env() -> dict[str, str]:
    """Settings for a child server on a fresh, migrated PostgreSQL database."""
    return {"CONSULTA_DATABASE_URL": await fresh_postgres(PG_DATABASE)}


async def hammer(
    address: str, job_id: str, token: str | None, total: int, *, list_jobs: bool = False
) -> tuple[float, list[float]]:
    """``total`` GetJob calls (ListJobs with ``list_jobs``), 64 in flight on one channel:
    calls per second and each call's latency."""
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        call: Callable[[], Awaitable[object]]
        if list_jobs:
            page = pb.ListJobsRequest(page_size=10)
            call = lambda: stub.ListJobs(page, metadata=metadata)  # noqa: E731
        else:
            request = pb.GetJobRequest(job_id=job_id)
            call = lambda: stub.GetJob(request, metadata=metadata)  # noqa: E731
        await call()  # warm-up
        remaining = total

        async def caller() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                await call()
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(IN_FLIGHT)))
        elapsed = time.perf_counter() - start
    return total / elapsed, latencies


async def create_text_job(address: str, token: str) -> str:
    """A text job, returned once the server's embedded worker has finished it: its note is
    written in the same process, and measuring GetJob while that runs measured the note's
    work in GetJob's tail (the first 2,000 calls' p99 was 113 ms, the next 2,000's 18 ms)."""
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        response = await stub.CreateJob(
            pb.CreateJobRequest(transcript_text="Doctor: hello.\nPatient: I have a cough."),
            metadata=metadata,
        )
        job_id = response.job.job_id
        watch = stub.WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=metadata, timeout=120)
        async for _ in watch:  # the stream ends when the job does
            pass
        return job_id


def _server_figures(
    env: dict[str, str], total: int
) -> tuple[tuple[float, list[float]], tuple[float, list[float]], float]:
    """GetJob's and ListJobs' (calls per second, latencies), and the server's CPU
    microseconds per GetJob."""
    with child_server(env) as server:
        token = mint_token(server.secret, "bench")
        job_id = asyncio.run(create_text_job(server.address, token))
        before = cpu_seconds(server.proc.pid)
        get = asyncio.run(hammer(server.address, job_id, token, total))
        cpu_us = (cpu_seconds(server.proc.pid) - before) / total * 1e6
        listed = asyncio.run(hammer(server.address, job_id, token, total, list_jobs=True))
    return get, listed, cpu_us


def _bare(total: int) -> tuple[float, float]:
    """The bare echo's calls per second and p99 (seconds)."""
    with bare_server() as address:
        rps, latencies = asyncio.run(hammer(address, "x", None, total))
    return rps, percentile(latencies, 99)


def _pg_keys(bare_rps: float, bare_p99: float, total: int) -> dict[str, float]:
    """GetJob on PostgreSQL against the bare echo's figures."""
    (pg_rps, pg_lat), _, pg_cpu_us = _server_figures(asyncio.run(pg_env()), total)
    return {
        "getjob_pg_rps": round(pg_rps, 1),
        "getjob_pg_ratio": round(pg_rps / bare_rps, 3),
        "getjob_pg_p99_ms": round(percentile(pg_lat, 99) * 1000, 2),
        "getjob_pg_p99_ratio": round(percentile(pg_lat, 99) / bare_p99, 2),
        "getjob_pg_server_cpu_us": round(pg_cpu_us),
    }


def run(total: int = 4000) -> dict[str, float]:
    bare_rps, bare_p99 = _bare(total)
    (rps, lat), (list_rps, _), cpu_us = _server_figures({}, total)
    return {
        "getjob_bare_rps": round(bare_rps, 1),
        "getjob_rps": round(rps, 1),
        "getjob_ratio": round(rps / bare_rps, 3),
        "getjob_p50_ms": round(percentile(lat, 50) * 1000, 2),
        "getjob_p99_ms": round(percentile(lat, 99) * 1000, 2),
        "getjob_bare_p99_ms": round(bare_p99 * 1000, 2),
        "getjob_p99_ratio": round(percentile(lat, 99) / bare_p99, 2),
        "listjobs_rps": round(list_rps, 1),
        "listjobs_ratio": round(list_rps / bare_rps, 3),
        "getjob_server_cpu_us": round(cpu_us),
        **_pg_keys(bare_rps, bare_p99, total),
    }


def run_pg(total: int = 4000) -> dict[str, float]:
    """The bare echo, then GetJob on PostgreSQL only: the PostgreSQL keys of :func:`run`."""
    bare_rps, bare_p99 = _bare(total)
    return {"getjob_bare_rps": round(bare_rps, 1), **_pg_keys(bare_rps, bare_p99, total)}


if __name__ == "__main__":
    # python -m bench.unary: every key, 1,000 calls each; --pg: PostgreSQL's, 4,000 calls,
    # as `make bench` measures them (for before/after runs back to back).
    print(run_pg() if "--pg" in sys.argv[1:] else run(1000))
