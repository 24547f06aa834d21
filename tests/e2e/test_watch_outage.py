"""A WatchJob opened while the broker is down works from the database, and switches back to
the bus when it returns, with no gap or repeat. The broker is a private RabbitMQ node this
test starts and stops (the shared one is never touched)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from app.devstack.seaweed import S3Endpoint
from core.events.rabbitmq import RabbitEventBus
from tests.e2e.conftest import scaled_settings
from tests.e2e.hand_worker import HandWorker, deployment_without_workers, queued_job
from tests.support import eventually
from tests.support.private_rabbitmq import PrivateRabbitMQ, private_rabbitmq

pytestmark = pytest.mark.stack


@pytest.fixture
def rabbit() -> Iterator[PrivateRabbitMQ]:
    with private_rabbitmq() as node:
        yield node


async def test_a_watch_opened_during_a_broker_outage_reads_the_database(
    tmp_path: Path, s3_endpoint: S3Endpoint, rabbit: PrivateRabbitMQ
) -> None:
    settings = (await scaled_settings(tmp_path, s3_endpoint)).model_copy(
        update={"queue_url": rabbit.url, "watch_poll_seconds": 0.3, "watch_check_seconds": 3.0}
    )
    deployment = await deployment_without_workers("scaled", settings)
    try:
        stub, auth = deployment.stub(), deployment.auth()
        job = await queued_job(deployment)  # event 1
        runtime = deployment.server.runtime
        bus = runtime.bus
        assert isinstance(bus, RabbitEventBus)
        worker = HandWorker(runtime, job.job_id)
        await worker.claim()
        await worker.deltas(2)  # 2, 3

        await asyncio.to_thread(rabbit.stop)
        await worker.deltas(2)  # 4, 5: stored; their publishes fail

        watch = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=auth, timeout=180)
        received: list[pb.WatchJobResponse] = []

        async def follow() -> None:
            async for message in watch:
                received.append(message)

        follower = asyncio.create_task(follow())
        try:
            # Before the broker is back: the snapshot and every stored event, from the log.
            await eventually(lambda: len(received) == 6, within=30, what="events 1-5")
            await worker.deltas(1)  # 6, still during the outage
            await eventually(lambda: len(received) == 7, within=30, what="event 6")
            assert not follower.done()

            await asyncio.to_thread(rabbit.start)
            await eventually(
                lambda: job.job_id in bus.bound_jobs(), within=60, what="the relay back"
            )
            await worker.deltas(2)  # 7, 8
            await worker.finish()  # 9
            await asyncio.wait_for(follower, timeout=60)
        finally:
            follower.cancel()
        assert received[0].HasField("snapshot")
        assert [m.event.sequence for m in received[1:]] == list(range(1, 10))
        assert received[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED

        # The relay's queue is the only one of ours, and it has its consumer.
        relays = await asyncio.to_thread(rabbit.queues, f"{bus.exchange_name}.relay")
        assert list(relays.values()) == [1], relays
    finally:
        await deployment.stop()
