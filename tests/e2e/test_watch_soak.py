"""WatchJob under load at CI size (issue 16): two servers and a worker on PostgreSQL, RabbitMQ
and S3; 200 streams opened and closed at random for about 20 s while audio jobs transcribe
and text jobs arrive. Nobody may see UNAVAILABLE, every watcher that stays ends at its job's
terminal state, and no relay queue is left without its consumer.

Bounded in time (SOAK_SECONDS, then every stayer within a deadline) and in count (WATCHERS).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from app.devstack.seaweed import S3Endpoint
from core.events.rabbitmq import RabbitEventBus
from tests.e2e.audio import wav_bytes
from tests.e2e.conftest import delete_rabbitmq_queues, scaled_settings
from tests.e2e.deployment import Deployment, start_deployment
from tests.e2e.test_jobs import text_job
from tests.e2e.test_pipeline import upload
from tests.support import eventually
from tests.support.services import rabbitmq_queues

pytestmark = pytest.mark.stack

WATCHERS = 200
#: Of the WATCHERS, how many watch one job to its end instead of churning.
STAYERS = 40
SOAK_SECONDS = 20.0
TERMINAL = {job_pb2.JOB_STATE_COMPLETED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}


async def test_200_churning_watchers_while_jobs_run(
    tmp_path: Path, s3_endpoint: S3Endpoint
) -> None:
    settings = await scaled_settings(tmp_path, s3_endpoint)
    deployment = await start_deployment("scaled", settings, servers=2)
    try:
        await soak(deployment)
    finally:
        await deployment.stop()
        await delete_rabbitmq_queues(settings)

    # Servers gone, job queues deleted: nothing of ours is left on the shared broker.
    async def nothing_left() -> bool:
        return await asyncio.to_thread(rabbitmq_queues, settings.rabbitmq_prefix) == {}

    await eventually(nothing_left, within=30, interval=1, what="no queue of ours left")


async def soak(deployment: Deployment) -> None:
    rng = random.Random(16)
    auth = deployment.auth()
    stubs = [deployment.stub(0), deployment.stub(1)]
    jobs: list[str] = []
    for _ in range(3):
        job, _ = await upload(deployment, wav_bytes(seconds=15))
        jobs.append(job.job_id)
    codes: list[grpc.StatusCode] = []
    ends: dict[str, list[int]] = {}
    stop_at = time.monotonic() + SOAK_SECONDS

    async def arrivals() -> None:
        while time.monotonic() < stop_at:
            jobs.append((await text_job(deployment)).job_id)
            await asyncio.sleep(1.0)

    async def churner(n: int) -> None:
        while time.monotonic() < stop_at:
            call = stubs[n % 2].WatchJob(
                pb.WatchJobRequest(job_id=rng.choice(jobs)), metadata=auth, timeout=60
            )

            async def read_some(call: grpc.aio.UnaryStreamCall = call) -> None:  # type: ignore[type-arg]
                async for _ in call:
                    pass

            reader = asyncio.create_task(read_some())
            done, _ = await asyncio.wait({reader}, timeout=rng.uniform(0.05, 2.0))
            if not done:
                call.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            codes.append(await call.code())

    async def stayer(n: int) -> None:
        await asyncio.sleep(rng.uniform(0, SOAK_SECONDS / 2))
        job_id = rng.choice(jobs)
        call = stubs[n % 2].WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=auth, timeout=240)
        states = [
            m.event.state_changed.state async for m in call if m.event.HasField("state_changed")
        ]
        codes.append(await call.code())
        ends.setdefault(job_id, []).append(states[-1] if states else -1)

    tasks = [asyncio.create_task(arrivals())]
    tasks += [asyncio.create_task(churner(n)) for n in range(WATCHERS - STAYERS)]
    tasks += [asyncio.create_task(stayer(n)) for n in range(STAYERS)]
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 300)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:3]

    assert len(codes) > 3 * WATCHERS  # the churn happened
    assert grpc.StatusCode.UNAVAILABLE not in codes, codes.count(grpc.StatusCode.UNAVAILABLE)
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.CANCELLED}, set(codes)
    assert sum(len(v) for v in ends.values()) == STAYERS
    for job_id, finals in ends.items():
        got = await stubs[0].GetJob(pb.GetJobRequest(job_id=job_id), metadata=auth)
        assert got.job.state in TERMINAL
        assert finals == [got.job.state] * len(finals), (job_id, finals)

    # Streams are over: each server's relay keeps its one queue, with its consumer, and no
    # other queue of ours on the events side exists.
    prefix = f"{deployment.settings.rabbitmq_prefix}.events"

    async def relay_queues_consumed() -> bool:
        queues = await asyncio.to_thread(rabbitmq_queues, prefix)
        return len(queues) <= 2 and all(c >= 1 for c in queues.values())

    await eventually(relay_queues_consumed, within=30, interval=1, what="only consumed queues")
    buses = [server.runtime.bus for server in deployment.servers]
    assert all(isinstance(bus, RabbitEventBus) for bus in buses)

    def released() -> bool:
        return not any(bus.bound_jobs() for bus in buses if isinstance(bus, RabbitEventBus))

    await eventually(released, within=30, what="every binding released")
