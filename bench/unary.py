"""GetJob throughput and latency at 64 calls in flight, against a bare unary echo."""

from __future__ import annotations

import asyncio
import time

import grpc
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from bench.common import child_server, percentile
from bench.upload import bare_server
from core.auth import mint_token

IN_FLIGHT = 64


async def hammer(
    address: str, job_id: str, token: str | None, total: int
) -> tuple[float, list[float]]:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        request = pb.GetJobRequest(job_id=job_id)
        await stub.GetJob(request, metadata=metadata)  # warm-up
        remaining = total

        async def caller() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                await stub.GetJob(request, metadata=metadata)
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(IN_FLIGHT)))
        elapsed = time.perf_counter() - start
    return total / elapsed, latencies


async def create_text_job(address: str, token: str) -> str:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        response = await stub.CreateJob(
            pb.CreateJobRequest(transcript_text="Doctor: hello.\nPatient: I have a cough."),
            metadata=(("authorization", f"Bearer {token}"),),
        )
        return response.job.job_id


def run(total: int = 4000) -> dict[str, float]:
    with bare_server() as address:
        bare_rps, bare_lat = asyncio.run(hammer(address, "x", None, total))
    with child_server() as server:
        token = mint_token(server.secret, "bench")
        job_id = asyncio.run(create_text_job(server.address, token))
        rps, lat = asyncio.run(hammer(server.address, job_id, token, total))
    return {
        "getjob_bare_rps": round(bare_rps, 1),
        "getjob_rps": round(rps, 1),
        "getjob_ratio": round(rps / bare_rps, 3),
        "getjob_p50_ms": round(percentile(lat, 50) * 1000, 2),
        "getjob_p99_ms": round(percentile(lat, 99) * 1000, 2),
        "getjob_bare_p99_ms": round(percentile(bare_lat, 99) * 1000, 2),
    }


if __name__ == "__main__":
    print(run(1000))
