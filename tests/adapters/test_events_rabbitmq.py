"""What only the RabbitMQ bus promises: events cross processes, and subscriptions survive a
connection the broker closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import pytest

from core.errors import Unavailable
from core.events.rabbitmq import RabbitEventBus
from tests.support import eventually
from tests.support.services import close_rabbitmq_connections

pytestmark = pytest.mark.stack


@pytest.fixture
def server_bus(rabbit_buses: Callable[..., RabbitEventBus]) -> RabbitEventBus:
    return rabbit_buses()


async def test_events_cross_connections(
    worker_bus: RabbitEventBus, server_bus: RabbitEventBus
) -> None:
    async with server_bus.subscribe("job-1") as events:
        await worker_bus.publish("job-1", b"from the worker")
        assert await asyncio.wait_for(anext(events), timeout=10) == b"from the worker"


async def test_job_ids_cannot_widen_the_routing_key(server_bus: RabbitEventBus) -> None:
    for job_id in ("*", "#", "a.b", ""):
        with pytest.raises(ValueError):
            await server_bus.publish(job_id, b"x")


async def test_subscriptions_come_back_after_the_broker_closes_the_connection(
    worker_bus: RabbitEventBus, server_bus: RabbitEventBus
) -> None:
    async with server_bus.subscribe("job-1") as events:
        await worker_bus.publish("job-1", b"before")
        assert await asyncio.wait_for(anext(events), timeout=10) == b"before"

        closed = await asyncio.to_thread(
            close_rabbitmq_connections, f"consulta {server_bus.exchange_name}"
        )
        assert closed == 2  # both buses name their connection after the exchange

        # Events published while the subscription is being restored are lost (the database
        # has them); keep publishing until one arrives over the restored binding.
        received: list[bytes] = []

        async def collect() -> None:
            async for event in events:
                received.append(event)

        collector = asyncio.create_task(collect())

        async def one_arrived() -> bool:
            if received:
                return True
            # Unavailable while the connection is being restored: try again on the next poll.
            with contextlib.suppress(Unavailable):
                await worker_bus.publish("job-1", b"after")
            return False

        try:
            await eventually(one_arrived, within=20, interval=0.2, what="an event after recovery")
        finally:
            collector.cancel()
        assert set(received) == {b"after"}


async def test_broker_down_is_unavailable_quickly_for_publishers_only() -> None:
    bus = RabbitEventBus("amqp://guest:guest@127.0.0.1:1/", timeout=1.0)
    with pytest.raises(Unavailable):
        await bus.publish("job-1", b"x")
    # A subscriber is not refused: its subscription says the bus is not delivering, so a
    # watcher reads the database instead (and is told when delivery starts).
    async with bus.subscribe("job-1") as events:
        assert await events.wait_live(10) is False
        assert not events.live
    await bus.aclose()


async def test_events_nobody_listens_to_are_dropped_quietly(
    worker_bus: RabbitEventBus, caplog: pytest.LogCaptureFixture
) -> None:
    await worker_bus.publish("job-unwatched", b"nobody listens")
    # A round trip on the same channel: a returned message would have arrived before it.
    async with worker_bus.subscribe("job-watched") as events:
        await worker_bus.publish("job-watched", b"ping")
        assert await asyncio.wait_for(anext(events), timeout=10) == b"ping"
    returned = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert returned == []
