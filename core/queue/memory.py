"""The in-process job queue of the embedded default: an ``asyncio.Queue`` of deliveries.

Nothing survives the process, which is fine: the database is the source of truth and the
sweeper publishes again any job that was accepted but not picked up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from core.queue.base import DeadLetter, Delivery, Handler, JobQueue, first_of, run_handler
from core.tracing import producer_span

log = logging.getLogger(__name__)


class MemoryJobQueue(JobQueue):
    """Deliveries in an ``asyncio.Queue``; retries come back through ``loop.call_later``.

    Needs no ``start()``. Must be used from one event loop.
    """

    def __init__(
        self, *, max_attempts: int = 5, retry_delays: Sequence[float] = (5.0, 30.0, 120.0)
    ) -> None:
        self.max_attempts = max_attempts
        self.retry_delays = tuple(retry_delays)
        self.dead_letters: list[DeadLetter] = []
        self._ready: asyncio.Queue[Delivery] = asyncio.Queue()
        self._timers: set[asyncio.TimerHandle] = set()
        self._closing = asyncio.Event()

    async def publish(self, job_id: str) -> None:
        with producer_span("jobs", job_id) as context:
            self._ready.put_nowait(Delivery(job_id=job_id, trace_context=context))

    async def depth(self) -> int:
        return self._ready.qsize()

    async def peek_dead_letters(self) -> list[DeadLetter]:
        """The dead-lettered messages so far (for inspection and tests)."""
        return list(self.dead_letters)

    async def consume(self, handler: Handler, *, concurrency: int, stop: asyncio.Event) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        slots = asyncio.Semaphore(concurrency)
        running: set[asyncio.Task[None]] = set()
        # Closing the queue stops its consumers too, so that none outlives it.
        stopped = asyncio.create_task(first_of(stop, self._closing))
        try:
            while not stop.is_set():
                await slots.acquire()
                delivery = await self._next(stopped)
                if delivery is None:
                    slots.release()
                    break
                task = asyncio.create_task(self._run(handler, delivery, slots))
                running.add(task)
                task.add_done_callback(running.discard)
        finally:
            stopped.cancel()
            # Stop means "take no more", not "drop what is running": let handlers finish.
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _next(self, stopped: asyncio.Task[None]) -> Delivery | None:
        """The next delivery, or None once ``stop`` is set first."""
        getter = asyncio.create_task(self._ready.get())
        await asyncio.wait({getter, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            if stopped.done():
                # Both finished at once: hand the message back rather than lose it.
                self._ready.put_nowait(getter.result())
                return None
            return getter.result()
        getter.cancel()
        return None

    async def _run(self, handler: Handler, delivery: Delivery, slots: asyncio.Semaphore) -> None:
        try:
            outcome = await run_handler(
                handler,
                delivery,
                max_attempts=self.max_attempts,
                retry_delays=self.retry_delays,
                destination="jobs",
            )
            if outcome.dead_reason is not None:
                self._dead(delivery, outcome.dead_reason)
            elif outcome.retry_after is not None:
                self._later(delivery, outcome.retry_after)
        finally:
            slots.release()

    def _later(self, delivery: Delivery, delay: float) -> None:
        again = Delivery(
            job_id=delivery.job_id,
            attempt=delivery.attempt + 1,
            trace_context=delivery.trace_context,
        )

        def fire() -> None:
            self._timers.discard(timer)
            self._ready.put_nowait(again)

        timer = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(timer)

    def _dead(self, delivery: Delivery, reason: str) -> None:
        log.warning("job message dead-lettered", extra={"job_id": delivery.job_id})
        self.dead_letters.append(DeadLetter(delivery.job_id, delivery.attempt, reason))

    async def aclose(self) -> None:
        self._closing.set()
        # Pending retries are dropped; the sweeper publishes their jobs again.
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
