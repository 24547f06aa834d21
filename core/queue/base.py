"""The job queue only says "look at job X". The database is the source of truth: losing a
message delays a job until the sweeper publishes it again, and a message delivered twice is
harmless because workers claim jobs with a conditional update.

A consumer's handler decides each delivery's outcome in one place:
- returns normally: the message is acknowledged;
- raises :class:`Retry`: the message comes back after ``defer`` seconds with ``attempt + 1``,
  or goes to the dead-letter queue once ``attempt`` reaches the queue's ``max_attempts``
  (the handler sees ``delivery.final_attempt`` first, so it can fail the job with a reason);
- raises anything else: the message is dead-lettered (never requeued in a hot loop).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message: the job to look at and how many times it has been tried (from 1)."""

    job_id: str
    attempt: int = 1
    final_attempt: bool = False


class Retry(Exception):
    """Raised by a handler: try this message again after ``defer`` seconds."""

    def __init__(self, defer: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {defer:.1f}s")
        self.defer = defer
        self.reason = reason


Handler = Callable[[Delivery], Awaitable[None]]


class JobQueue(ABC):
    """Publishes job ids and runs consumers."""

    #: Tries before a message is dead-lettered.
    max_attempts: int

    @abstractmethod
    async def publish(self, job_id: str) -> None:
        """Publish "look at job ``job_id``" durably (confirmed by the broker when there is one)."""

    @abstractmethod
    async def consume(self, handler: Handler, *, concurrency: int, stop: asyncio.Event) -> None:
        """Run ``handler`` on deliveries, at most ``concurrency`` at once, until ``stop`` is set.

        Returns after the in-flight handlers finish; unacknowledged messages go back to the
        queue for another consumer.
        """

    @abstractmethod
    async def depth(self) -> int:
        """Messages waiting (for metrics and autoscaling)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
