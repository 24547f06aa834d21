"""Scale-out: jobs per second with 1 and with 8 workers through RabbitMQ and PostgreSQL, on
a note engine that only waits (I/O-bound, like a cloud provider)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from app.processes import start_server
from bench.common import fresh_postgres, in_process_settings
from bench.relay import AMQP
from core.auth import mint_token
from core.domain import Note, NoteSection, Transcript
from core.runtime import open_runtime
from workers.app import WorkerGroup
from workers.engines.base import NoteRequest, NoteUpdate, Summarizer

JOBS = 48
WAIT = 0.25


class WaitingSummarizer(Summarizer):
    """Waits like a remote model would, then writes a one-line note."""

    name = "bench:wait"

    async def summarize(
        self, transcript: Transcript, request: NoteRequest
    ) -> AsyncIterator[NoteUpdate]:
        await asyncio.sleep(WAIT)
        yield Note(
            template=request.template,
            language=request.language,
            engine=self.name,
            sections=(NoteSection(key="plan", title="Plan"),),
        )


async def jobs_per_second(workers: int) -> float:
    # Its own database, so that it never drops the relay bench's (run by others) under it.
    database = await fresh_postgres(
        os.environ.get("CONSULTA_BENCH_SCALE_DB", "consulta_bench_scale")
    )
    with tempfile.TemporaryDirectory() as folder:
        settings = in_process_settings(
            Path(folder),
            database_url=database,
            queue_url=AMQP,
            rabbitmq_prefix="bench-" + uuid.uuid4().hex[:6],
            run_worker=False,
            allowed_summarizers=("local", "wait"),
        )
        server = await start_server(settings)
        groups = []
        for _ in range(workers):
            group = WorkerGroup(await open_runtime(settings, migrate=False), sweeper=False)
            group.engines.register("wait", WaitingSummarizer())
            groups.append(group)
        auth = (("authorization", f"Bearer {mint_token(settings.jwt_secret, 'bench')}"),)
        config = job_pb2.JobConfig(engine_hints=job_pb2.EngineHints(summarizer="wait"))
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                stub = pb_grpc.TranscriptionServiceStub(channel)
                ids = [
                    (
                        await stub.CreateJob(
                            pb.CreateJobRequest(transcript_text="Doctor: hi.", config=config),
                            metadata=auth,
                        )
                    ).job.job_id
                    for _ in range(JOBS)
                ]
                start = time.perf_counter()
                for group in groups:
                    group.start()
                while True:
                    page = await stub.ListJobs(
                        pb.ListJobsRequest(page_size=100, states=[job_pb2.JOB_STATE_COMPLETED]),
                        metadata=auth,
                    )
                    if len(page.jobs) == len(ids):
                        break
                    if time.perf_counter() - start > 300:
                        raise RuntimeError("jobs did not finish in 300 s")
                    await asyncio.sleep(0.05)
                elapsed = time.perf_counter() - start
        finally:
            for group in groups:
                await group.stop(5)
                await group.rt.aclose()
            await server.stop(1)
            from core.queue.rabbitmq import RabbitJobQueue

            queue = RabbitJobQueue(AMQP, prefix=settings.rabbitmq_prefix)
            await queue.delete_queues()
            await queue.aclose()
    return JOBS / elapsed


def run() -> dict[str, float]:
    one = asyncio.run(jobs_per_second(1))
    eight = asyncio.run(jobs_per_second(8))
    return {
        "workers_1_jobs_s": round(one, 2),
        "workers_8_jobs_s": round(eight, 2),
        "workers_8_vs_1": round(eight / one, 2),
    }


if __name__ == "__main__":
    print(run())
