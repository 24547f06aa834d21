"""The RabbitMQ bus's relay: subscriptions that cannot hurt each other, and a recovery that
re-creates only what is still wanted (issue 16)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from core.errors import Unavailable
from core.events.rabbitmq import RabbitEventBus
from tests.support import eventually
from tests.support.services import close_rabbitmq_connections, rabbitmq_queues

pytestmark = pytest.mark.stack


@pytest.fixture
def relay(rabbit_buses: Callable[..., RabbitEventBus]) -> RabbitEventBus:
    # Reconnects after a second: long enough for a test to act while it is down.
    return rabbit_buses(reconnect_interval=1.0)


async def publish_until(worker_bus: RabbitEventBus, job_id: str, arrived: asyncio.Event) -> None:
    """Publish to ``job_id`` until something arrives (the relay may still be recovering)."""

    async def came() -> bool:
        if arrived.is_set():
            return True
        with contextlib.suppress(Unavailable):
            await worker_bus.publish(job_id, b"ping")
        return False

    await eventually(came, within=20, interval=0.1, what=f"an event for {job_id}")


async def test_cancelled_subscriptions_leave_the_others_working(
    worker_bus: RabbitEventBus, relay: RabbitEventBus
) -> None:
    async with relay.subscribe("job-stays") as stays:
        assert stays.live

        async def come_and_go(n: int) -> None:
            async with relay.subscribe(f"job-{n % 7}"):
                await asyncio.sleep(0)

        # Cancel subscribers at every point of their life, many at once.
        for round_ in range(5):
            tasks = [asyncio.create_task(come_and_go(n)) for n in range(40)]
            await asyncio.sleep(0.002 * round_)
            for task in tasks[::2]:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await worker_bus.publish("job-stays", b"still here")
        assert await asyncio.wait_for(anext(stays), timeout=10) == b"still here"
        assert stays.live and stays.generation == 1  # never lost its delivery

        await eventually(lambda: relay.bound_jobs() == {"job-stays"}, what="only job-stays bound")


async def test_recovery_binds_only_the_jobs_still_watched(
    worker_bus: RabbitEventBus, relay: RabbitEventBus, exchange: str
) -> None:
    async with relay.subscribe("job-kept") as kept:
        async with relay.subscribe("job-gone") as gone:
            assert kept.live and gone.live
            # The broker drops the relay's connection (as a restart would) ...
            closed = await asyncio.to_thread(close_rabbitmq_connections, relay.connection_name)
            assert closed >= 1
            await eventually(lambda: not kept.live, what="the relay noticing the loss")
        # ... and job-gone's only watcher leaves while it is down.
        assert "job-gone" not in relay.bound_jobs()
        await eventually(lambda: kept.live, within=20, what="the relay back")
        assert kept.generation == 2  # a new delivery: the watcher reads the log once
        assert relay.bound_jobs() == {"job-kept"}  # job-gone was not bound again
        arrived = asyncio.Event()

        async def collect() -> None:
            async for _ in kept:
                arrived.set()

        collector = asyncio.create_task(collect())
        try:
            await publish_until(worker_bus, "job-kept", arrived)
        finally:
            collector.cancel()

        # One queue per relay on the broker, with its consumer; the one of the lost
        # connection is gone with it.
        queues = await asyncio.to_thread(rabbitmq_queues, exchange)
        assert list(queues.values()) == [1], queues
        assert relay.relay_queue in queues


async def test_no_queue_is_left_after_the_bus_closes(
    rabbit_buses: Callable[..., RabbitEventBus], exchange: str
) -> None:
    bus = rabbit_buses()
    async with bus.subscribe("job-1") as events:
        assert events.live
        assert len(await asyncio.to_thread(rabbitmq_queues, exchange)) == 1
    await bus.aclose()

    async def none_left() -> bool:
        return await asyncio.to_thread(rabbitmq_queues, exchange) == {}

    await eventually(none_left, within=20, interval=0.5, what="no relay queue left")
