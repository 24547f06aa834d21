"""GetJob, ListJobs, GetTranscript and GetSummary throughput at 64 calls in flight (GetJob's
latency too), against a bare unary echo measured in the same run, on the embedded default
(SQLite) and on PostgreSQL, and the server's CPU time per GetJob (``getjob_server_cpu_us``,
``getjob_pg_server_cpu_us``), which moves far less than the ratios when other work shares the
machine. Every read is of the finished text job :func:`create_text_job` makes."""

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


#: The unary reads measured, as their RPC names (``--method`` of bench/profile.py).
METHODS = ("GetJob", "ListJobs", "GetTranscript", "GetSummary")


def _caller(
    stub: pb_grpc.TranscriptionServiceAsyncStub,
    method: str,
    job_id: str,
    metadata: tuple[tuple[str, str], ...],
) -> Callable[[], Awaitable[object]]:
    """One call of ``method`` on ``job_id`` (ListJobs: a page of 10), its request built once."""
    if method == "ListJobs":
        page = pb.ListJobsRequest(page_size=10)
        return lambda: stub.ListJobs(page, metadata=metadata)
    if method == "GetTranscript":
        transcript = pb.GetTranscriptRequest(job_id=job_id)
        return lambda: stub.GetTranscript(transcript, metadata=metadata)
    if method == "GetSummary":
        summary = pb.GetSummaryRequest(job_id=job_id)
        return lambda: stub.GetSummary(summary, metadata=metadata)
    if method != "GetJob":
        raise ValueError(f"not a measured read: {method}")
    request = pb.GetJobRequest(job_id=job_id)
    return lambda: stub.GetJob(request, metadata=metadata)


async def hammer(
    address: str, job_id: str, token: str | None, total: int, *, method: str = "GetJob"
) -> tuple[float, list[float]]:
    """``total`` calls of ``method`` (one of :data:`METHODS`), 64 in flight on one channel:
    calls per second and each call's latency."""
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub: pb_grpc.TranscriptionServiceAsyncStub = pb_grpc.TranscriptionServiceStub(channel)
        call = _caller(stub, method, job_id, metadata)
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
) -> tuple[dict[str, tuple[float, list[float]]], float]:
    """Each of :data:`METHODS`' (calls per second, latencies), and the server's CPU
    microseconds per GetJob."""
    with child_server(env) as server:
        token = mint_token(server.secret, "bench")
        job_id = asyncio.run(create_text_job(server.address, token))
        before = cpu_seconds(server.proc.pid)
        figures = {"GetJob": asyncio.run(hammer(server.address, job_id, token, total))}
        cpu_us = (cpu_seconds(server.proc.pid) - before) / total * 1e6
        for method in METHODS[1:]:
            figures[method] = asyncio.run(
                hammer(server.address, job_id, token, total, method=method)
            )
    return figures, cpu_us


def _bare(total: int) -> tuple[float, float]:
    """The bare echo's calls per second and p99 (seconds)."""
    with bare_server() as address:
        rps, latencies = asyncio.run(hammer(address, "x", None, total))
    return rps, percentile(latencies, 99)


def _pg_keys(bare_rps: float, bare_p99: float, total: int) -> dict[str, float]:
    """GetJob, ListJobs, GetTranscript and GetSummary on PostgreSQL against the bare echo's
    figures."""
    figures, pg_cpu_us = _server_figures(asyncio.run(pg_env()), total)
    pg_rps, pg_lat = figures["GetJob"]
    return {
        "getjob_pg_rps": round(pg_rps, 1),
        "getjob_pg_ratio": round(pg_rps / bare_rps, 3),
        "getjob_pg_p99_ms": round(percentile(pg_lat, 99) * 1000, 2),
        "getjob_pg_p99_ratio": round(percentile(pg_lat, 99) / bare_p99, 2),
        "getjob_pg_server_cpu_us": round(pg_cpu_us),
        **_ratios(figures, bare_rps, "_pg"),
    }


def _ratios(
    figures: dict[str, tuple[float, list[float]]], bare_rps: float, suffix: str = ""
) -> dict[str, float]:
    """``listjobs_rps``, ``listjobs_ratio`` and the same for GetTranscript and GetSummary
    (``listjobs_pg_rps`` ... with ``suffix`` "_pg")."""
    keys: dict[str, float] = {}
    for method in METHODS[1:]:
        rps = figures[method][0]
        keys[f"{method.lower()}{suffix}_rps"] = round(rps, 1)
        keys[f"{method.lower()}{suffix}_ratio"] = round(rps / bare_rps, 3)
    return keys


def _embedded_keys(bare_rps: float, bare_p99: float, total: int) -> dict[str, float]:
    """The reads on the embedded default against the bare echo's figures."""
    figures, cpu_us = _server_figures({}, total)
    rps, lat = figures["GetJob"]
    return {
        "getjob_bare_rps": round(bare_rps, 1),
        "getjob_rps": round(rps, 1),
        "getjob_ratio": round(rps / bare_rps, 3),
        "getjob_p50_ms": round(percentile(lat, 50) * 1000, 2),
        "getjob_p99_ms": round(percentile(lat, 99) * 1000, 2),
        "getjob_bare_p99_ms": round(bare_p99 * 1000, 2),
        "getjob_p99_ratio": round(percentile(lat, 99) / bare_p99, 2),
        **_ratios(figures, bare_rps),
        "getjob_server_cpu_us": round(cpu_us),
    }


def run(total: int = 4000) -> dict[str, float]:
    bare_rps, bare_p99 = _bare(total)
    return {**_embedded_keys(bare_rps, bare_p99, total), **_pg_keys(bare_rps, bare_p99, total)}


def run_embedded(total: int = 4000) -> dict[str, float]:
    """The bare echo, then the reads on the embedded default only: those keys of :func:`run`."""
    return _embedded_keys(*_bare(total), total)


def run_pg(total: int = 4000) -> dict[str, float]:
    """The bare echo, then the reads on PostgreSQL only: the PostgreSQL keys of :func:`run`."""
    bare_rps, bare_p99 = _bare(total)
    return {"getjob_bare_rps": round(bare_rps, 1), **_pg_keys(bare_rps, bare_p99, total)}


if __name__ == "__main__":
    # python -m bench.unary: every key, 1,000 calls each; --pg: PostgreSQL's, 4,000 calls,
    # as `make bench` measures them (for before/after runs back to back); --embedded: the
    # embedded default's, 4,000 calls.
    args = sys.argv[1:]
    print(run_pg() if "--pg" in args else run_embedded() if "--embedded" in args else run(1000))
