"""Live job events between processes.

Every event is first stored in the database with its sequence number (the job's event log),
then published here. The bus is only the fast path: a subscriber that sees a gap in sequence
numbers reads the missing events from the database, so a lost or late message costs latency,
never an event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager


class EventBus(ABC):
    """Publishes and subscribes to serialized ``consulta.v1.JobEvent`` messages by job id."""

    @abstractmethod
    async def publish(self, job_id: str, event: bytes) -> None:
        """Send one serialized JobEvent to the job's current subscribers, in any process."""

    @abstractmethod
    def subscribe(self, job_id: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Receive the job's events published after the subscription is set up.

        Use as ``async with bus.subscribe(job_id) as events: async for event in events``;
        leaving the block unsubscribes.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
