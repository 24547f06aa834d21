"""The job queue only says "look at job X". The database is the source of truth: losing a
message delays a job until the sweeper publishes it again, and a message delivered twice is
harmless because workers claim jobs with a conditional update.

A consumer's handler decides each delivery's outcome in one place:
- returns normally: the message is acknowledged;
- raises :class:`Retry`: the message comes back after ``defer`` seconds with ``attempt + 1``,
  or goes to the dead-letter queue once ``attempt`` reaches the queue's ``max_attempts``
  (the handler sees ``delivery.final_attempt`` first, so it can fail the job with a reason);
- raises anything else: the message is dead-lettered (never requeued in a hot loop).

:func:`run_handler` makes that decision for every adapter; each adapter only carries it out.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from opentelemetry.util.types import AttributeValue

from core.tracing import consumer_span


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message: the job to look at and how many times it has been tried (from 1)."""

    job_id: str
    attempt: int = 1
    final_attempt: bool = False
    #: W3C trace context of the publisher (core/tracing.py); empty when tracing is off.
    trace_context: Mapping[str, str] = field(default_factory=dict)


class Retry(Exception):
    """Raised by a handler: try this message again after ``defer`` seconds."""

    def __init__(self, defer: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {defer:.1f}s")
        self.defer = defer
        self.reason = reason


Handler = Callable[[Delivery], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that will not be tried again, kept for inspection."""

    job_id: str
    attempt: int
    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What becomes of a delivery once its handler is done: acknowledged (both fields None),
    tried again after ``retry_after`` seconds, or dead-lettered for ``dead_reason``."""

    retry_after: float | None = None
    dead_reason: str | None = None


def retry_delay(ladder: Sequence[float], attempt: int, retry: Retry) -> float:
    """Seconds before try ``attempt + 1``: the ladder's step for ``attempt`` (its last step
    repeated), or the handler's ``defer`` when that is longer. Every adapter uses this rule so
    that a job backs off the same way embedded and scaled out."""
    step = ladder[min(attempt, len(ladder)) - 1] if ladder else 0.0
    return max(step, retry.defer, 0.0)


async def run_handler(
    handler: Handler,
    delivery: Delivery,
    *,
    max_attempts: int,
    retry_delays: Sequence[float],
    destination: str,
) -> Outcome:
    """Run ``handler`` on one delivery and decide its outcome, the same for every adapter.

    The handler sees ``final_attempt`` when ``delivery.attempt`` reaches ``max_attempts``;
    a :class:`Retry` then dead-letters instead. Any other exception dead-letters at once, so a
    message that breaks its handler is never requeued in a hot loop. Cancellation propagates.
    The handler runs in a CONSUMER span that continues the publisher's trace.
    """
    attempt = delivery.attempt
    final = attempt >= max_attempts
    attributes: dict[str, AttributeValue] = {
        "consulta.job_id": delivery.job_id,
        "consulta.attempt": attempt,
    }
    with consumer_span(destination, delivery.trace_context, attributes) as span:
        outcome = await _decide(handler, delivery, final, retry_delays)
        span.set_attribute(
            "consulta.outcome",
            "dead_letter"
            if outcome.dead_reason is not None
            else "retry"
            if outcome.retry_after is not None
            else "ack",
        )
        return outcome


async def _decide(
    handler: Handler, delivery: Delivery, final: bool, retry_delays: Sequence[float]
) -> Outcome:
    attempt = delivery.attempt
    try:
        await handler(
            Delivery(
                job_id=delivery.job_id,
                attempt=attempt,
                final_attempt=final,
                trace_context=delivery.trace_context,
            )
        )
    except Retry as retry:
        if final:
            return Outcome(dead_reason=f"gave up after {attempt} attempts: {retry}")
        return Outcome(retry_after=retry_delay(retry_delays, attempt, retry))
    except Exception as exc:
        return Outcome(dead_reason=f"{type(exc).__name__}: {exc}")
    return Outcome()


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


async def first_of(*events: asyncio.Event) -> None:
    """Wait until one of ``events`` is set."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
