"""The EventBus contract, for the in-process bus and for RabbitMQ."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from core.events.base import EventBus


async def take(events: AsyncIterator[bytes], count: int) -> list[bytes]:
    """The next ``count`` events, failing (bounded) when they do not come."""

    async def collect() -> list[bytes]:
        got: list[bytes] = []
        async for event in events:
            got.append(event)
            if len(got) == count:
                break
        return got

    return await asyncio.wait_for(collect(), timeout=10)


async def nothing_more(events: AsyncIterator[bytes], within: float = 0.3) -> bool:
    """True when no event arrives within ``within`` seconds."""
    try:
        event = await asyncio.wait_for(anext(events), timeout=within)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected event {event!r}")


def subscribers(bus: EventBus, job_id: str) -> int:
    """Open subscriptions to ``job_id`` in this process, whichever adapter ``bus`` is."""
    from core.events.memory import MemoryEventBus

    if isinstance(bus, MemoryEventBus):
        return bus.subscriber_count(job_id)
    from core.events.rabbitmq import RabbitEventBus

    assert isinstance(bus, RabbitEventBus)
    return bus.subscriber_count(job_id)


async def test_events_fan_out_to_every_subscriber_in_order(event_bus: EventBus) -> None:
    async with event_bus.subscribe("job-1") as first, event_bus.subscribe("job-1") as second:
        for n in range(5):
            await event_bus.publish("job-1", f"event-{n}".encode())
        expected = [f"event-{n}".encode() for n in range(5)]
        assert await take(first, 5) == expected
        assert await take(second, 5) == expected


async def test_jobs_are_isolated(event_bus: EventBus) -> None:
    async with event_bus.subscribe("job-a") as a, event_bus.subscribe("job-b") as b:
        await event_bus.publish("job-b", b"for b")
        await event_bus.publish("job-a", b"for a")
        await event_bus.publish("job-c", b"for nobody")

        assert await take(a, 1) == [b"for a"]
        assert await take(b, 1) == [b"for b"]
        assert await nothing_more(a)
        assert await nothing_more(b)


async def test_leaving_the_block_unsubscribes(event_bus: EventBus) -> None:
    async with event_bus.subscribe("job-1") as staying:
        async with event_bus.subscribe("job-1") as leaving:
            await event_bus.publish("job-1", b"both")
            assert await take(leaving, 1) == [b"both"]
        await event_bus.publish("job-1", b"after")
        assert await take(staying, 2) == [b"both", b"after"]
        assert subscribers(event_bus, "job-1") == 1
    assert subscribers(event_bus, "job-1") == 0
    # Publishing with no subscriber at all is fine (and goes nowhere).
    await event_bus.publish("job-1", b"nobody listens")


async def test_events_before_subscribing_are_not_replayed(event_bus: EventBus) -> None:
    await event_bus.publish("job-1", b"too early")
    async with event_bus.subscribe("job-1") as events:
        await event_bus.publish("job-1", b"on time")
        assert await take(events, 1) == [b"on time"]
