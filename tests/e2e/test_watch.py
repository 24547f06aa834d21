"""WatchJob's edges: a client past the end of the log, and subscriptions that come and go
without hurting the others."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from tests.e2e.deployment import Deployment, run_to_end
from tests.e2e.hand_worker import HandWorker, queued_job
from tests.e2e.test_jobs import text_job
from tests.support import eventually


async def remaining(call: grpc.aio.UnaryStreamCall) -> list[pb.WatchJobResponse]:  # type: ignore[type-arg]
    """The rest of a stream read with ``read()`` (gRPC forbids mixing it with ``async for``)."""
    out = []
    while isinstance(message := await call.read(), pb.WatchJobResponse):  # else grpc.aio.EOF
        out.append(message)
    return out


async def test_watch_past_the_end_of_a_finished_job_ends_with_the_snapshot(
    deployment: Deployment,
) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    job = await text_job(deployment)
    everything = await run_to_end(stub, job.job_id, auth)
    last = everything[-1].event.sequence
    # The deadline only bounds the test: before the fix the stream never ended.
    beyond = [
        m
        async for m in stub.WatchJob(
            pb.WatchJobRequest(job_id=job.job_id, after_sequence=last + 50),
            metadata=auth,
            timeout=20,
        )
    ]
    assert len(beyond) == 1 and beyond[0].snapshot.last_event_sequence == last


async def test_watch_past_the_end_of_a_running_job_waits_and_ends_with_the_job(
    idle: Deployment,
) -> None:
    stub, auth = idle.stub(), idle.auth()
    job = await queued_job(idle)
    worker = HandWorker(idle.server.runtime, job.job_id)
    await worker.claim()
    await worker.deltas(2)  # the log now ends at 3
    watch = stub.WatchJob(
        pb.WatchJobRequest(job_id=job.job_id, after_sequence=10), metadata=auth, timeout=30
    )
    first = await watch.read()
    assert isinstance(first, pb.WatchJobResponse) and first.snapshot.last_event_sequence == 3
    await worker.deltas(3)  # 4..6: the client claims to have them already
    await worker.finish()  # 7 is terminal
    assert await remaining(watch) == []
    assert await watch.code() == grpc.StatusCode.OK


async def test_cancelled_watchers_do_not_fail_the_others(idle: Deployment) -> None:
    """Many streams opened and cancelled at once while one watches to the end: the
    survivor gets every event once, and nobody sees UNAVAILABLE."""
    stub, auth = idle.stub(), idle.auth()
    job = await queued_job(idle)
    worker = HandWorker(idle.server.runtime, job.job_id)
    await worker.claim()
    other_jobs = [(await queued_job(idle)).job_id for _ in range(5)]

    survivor = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=auth, timeout=60)
    first = await survivor.read()
    assert isinstance(first, pb.WatchJobResponse) and first.HasField("snapshot")
    codes: list[grpc.StatusCode] = []

    async def churn(n: int) -> None:
        call = stub.WatchJob(
            pb.WatchJobRequest(job_id=other_jobs[n % len(other_jobs)]), metadata=auth
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.read(), timeout=0.001 * (n % 50))
        call.cancel()
        codes.append(await call.code())

    for _ in range(3):
        await asyncio.gather(*(churn(n) for n in range(60)))
        await worker.deltas(2)
    await worker.finish()
    messages = await remaining(survivor)
    sequences = [m.event.sequence for m in messages]
    assert sequences == list(range(1, 9))
    assert messages[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED
    assert grpc.StatusCode.UNAVAILABLE not in codes
    assert set(codes) <= {grpc.StatusCode.CANCELLED, grpc.StatusCode.OK}

    async def unbound() -> bool:
        from core.events.rabbitmq import RabbitEventBus

        bus = idle.server.runtime.bus
        return not isinstance(bus, RabbitEventBus) or not bus.bound_jobs()

    # Every stream is gone, so the relay lets go of every binding.
    await eventually(unbound, within=20, what="the relay's bindings released")
