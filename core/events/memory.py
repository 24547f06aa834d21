"""The in-process event bus of the embedded default: per job, one bounded inbox per subscriber.

A slow subscriber must not hold up the worker that publishes nor grow memory without bound,
so a full inbox drops its oldest event; the subscriber sees the gap in sequence numbers and
reads the missing events from the database. Subscriptions here are always live.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.events.base import EventBus, Subscribers, Subscription


class MemoryEventBus(EventBus):
    """Fans events out to the subscribers of this process. Needs no ``start()``."""

    def __init__(self, *, max_pending: int = 256) -> None:
        self.max_pending = max_pending
        self._subscribers = Subscribers()
        self._closed = False

    def subscriber_count(self, job_id: str) -> int:
        """Subscriptions open for ``job_id`` (for tests and metrics)."""
        return len(self._subscribers.of(job_id))

    async def publish(self, job_id: str, event: bytes) -> None:
        self._subscribers.deliver(job_id, event)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(job_id, max_pending=self.max_pending)
        if self._closed:
            subscription.end()
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.remove(subscription)

    async def aclose(self) -> None:
        self._closed = True
        self._subscribers.end_all()
