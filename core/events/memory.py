"""The in-process event bus of the embedded default: per job, one bounded queue per subscriber.

A slow subscriber must not hold up the worker that publishes nor grow memory without bound,
so a full queue drops its oldest event; the subscriber sees the gap in sequence numbers and
reads the missing events from the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.events.base import EventBus

#: A subscriber's local queue: events, then None when the bus closes (ending its ``async for``).
Inbox = asyncio.Queue[bytes | None]


class MemoryEventBus(EventBus):
    """Fans events out to the subscribers of this process. Needs no ``start()``."""

    def __init__(self, *, max_pending: int = 256) -> None:
        self.max_pending = max_pending
        self._subscribers: dict[str, set[Inbox]] = {}
        self._closed = False

    def subscriber_count(self, job_id: str) -> int:
        """Subscriptions open for ``job_id`` (for tests and metrics)."""
        return len(self._subscribers.get(job_id, ()))

    async def publish(self, job_id: str, event: bytes) -> None:
        for queue in self._subscribers.get(job_id, ()):
            offer(queue, event)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        queue: Inbox = asyncio.Queue(maxsize=self.max_pending)
        if self._closed:
            queue.put_nowait(None)
        self._subscribers.setdefault(job_id, set()).add(queue)
        try:
            yield drain(queue)
        finally:
            subscribers = self._subscribers.get(job_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[job_id]

    async def aclose(self) -> None:
        self._closed = True
        for subscribers in self._subscribers.values():
            for queue in subscribers:
                offer(queue, None)


def offer(queue: Inbox, event: bytes | None) -> None:
    """Put without waiting; when full, drop the oldest event to make room."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(event)


async def drain(queue: Inbox) -> AsyncIterator[bytes]:
    """A subscriber's events until the bus closes."""
    while (event := await queue.get()) is not None:
        yield event
