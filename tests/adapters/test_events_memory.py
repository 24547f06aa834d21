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
