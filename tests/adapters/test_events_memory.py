"""What only the in-process bus promises: a slow subscriber loses its oldest events, not memory."""

from __future__ import annotations

import asyncio

from core.events.memory import MemoryEventBus


async def test_a_full_subscriber_drops_the_oldest_events() -> None:
    bus = MemoryEventBus(max_pending=3)
    async with bus.subscribe("job-1") as events:
        for n in range(5):
            await bus.publish("job-1", str(n).encode())
        got = [await asyncio.wait_for(anext(events), timeout=1) for _ in range(3)]
    assert got == [b"2", b"3", b"4"]


async def test_closing_the_bus_ends_subscriptions() -> None:
    bus = MemoryEventBus()
    async with bus.subscribe("job-1") as events:
        await bus.publish("job-1", b"last")
        await bus.aclose()
        assert [e async for e in events] == [b"last"]


async def test_receive_waits_for_an_event_or_its_timeout_and_survives_cancellation() -> None:
    bus = MemoryEventBus()
    async with bus.subscribe("job-1") as events:
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await events.receive(0.05) is None  # nothing came
        assert 0.04 <= loop.time() - start < 5
        waiting = asyncio.create_task(events.receive(5))
        await asyncio.sleep(0)
        await bus.publish("job-1", b"woken")
        assert await asyncio.wait_for(waiting, 1) == b"woken"
        # A reader cancelled while waiting leaves the subscription as it was.
        cancelled = asyncio.create_task(events.receive(5))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        await bus.publish("job-1", b"after")
        assert await events.receive(1) == b"after"
