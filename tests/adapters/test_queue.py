"""The JobQueue contract, for the in-process queue and for RabbitMQ."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from core.queue.base import Delivery, JobQueue, Retry
from tests.support import consistently, eventually


@asynccontextmanager
async def consuming(
    queue: JobQueue, handler: Callable[[Delivery], Awaitable[None]], concurrency: int = 1
) -> AsyncIterator[asyncio.Event]:
    """Run a consumer for the block; on exit stop it and wait (bounded) for it to return."""
    stop = asyncio.Event()
    task = asyncio.create_task(queue.consume(handler, concurrency=concurrency, stop=stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


def dead_job_ids(queue: JobQueue) -> Callable[[], Awaitable[list[str]]]:
    """A probe listing dead-lettered job ids, whichever adapter ``queue`` is."""
    from core.queue.memory import MemoryJobQueue
    from core.queue.rabbitmq import RabbitJobQueue

    assert isinstance(queue, MemoryJobQueue | RabbitJobQueue)

    async def probe() -> list[str]:
        return [d.job_id for d in await queue.peek_dead_letters()]

    return probe


async def test_published_jobs_are_delivered_once_each(job_queue: JobQueue) -> None:
    seen: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery)

    for n in range(5):
        await job_queue.publish(f"job-{n}")
    assert await eventually(lambda: job_queue.depth(), what="depth 5") == 5

    async with consuming(job_queue, handler):
        await eventually(lambda: len(seen) == 5, what="5 deliveries")

    assert sorted(d.job_id for d in seen) == [f"job-{n}" for n in range(5)]
    assert all(d.attempt == 1 and not d.final_attempt for d in seen)
    assert await job_queue.depth() == 0


async def test_retry_comes_back_after_the_delay_then_succeeds(
    job_queue: JobQueue, retry_delays: tuple[float, ...]
) -> None:
    attempts: list[tuple[int, float]] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        attempts.append((delivery.attempt, time.monotonic()))
        if delivery.attempt < 3:
            raise Retry(defer=0.0, reason="provider busy")
        done.set()

    async with consuming(job_queue, handler):
        await job_queue.publish("job-retry")
        await asyncio.wait_for(done.wait(), timeout=10)

    assert [a for a, _ in attempts] == [1, 2, 3]
    # The ladder's delays grow: 0.2 s before the 2nd try, 0.4 s before the 3rd.
    assert attempts[1][1] - attempts[0][1] >= retry_delays[0] * 0.9
    assert attempts[2][1] - attempts[1][1] >= retry_delays[1] * 0.9
    assert await dead_job_ids(job_queue)() == []


async def test_a_longer_defer_than_the_ladder_is_honoured(job_queue: JobQueue) -> None:
    times: list[float] = []

    async def handler(delivery: Delivery) -> None:
        times.append(time.monotonic())
        if delivery.attempt == 1:
            raise Retry(defer=0.35)

    async with consuming(job_queue, handler):
        await job_queue.publish("job-defer")
        await eventually(lambda: len(times) == 2, what="second attempt")

    assert times[1] - times[0] >= 0.35 * 0.9


async def test_dead_letter_after_max_attempts(job_queue: JobQueue) -> None:
    seen: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery)
        raise Retry(defer=0.0)

    async with consuming(job_queue, handler):
        await job_queue.publish("job-doomed")
        assert await eventually(dead_job_ids(job_queue), what="dead letter") == ["job-doomed"]

    assert [(d.attempt, d.final_attempt) for d in seen] == [
        (n, n == job_queue.max_attempts) for n in range(1, job_queue.max_attempts + 1)
    ]
    assert await job_queue.depth() == 0


async def test_other_errors_dead_letter_at_once(job_queue: JobQueue) -> None:
    seen: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery)
        raise ValueError("corrupt audio")

    async with consuming(job_queue, handler):
        await job_queue.publish("job-broken")
        assert await eventually(dead_job_ids(job_queue), what="dead letter") == ["job-broken"]

    assert [d.attempt for d in seen] == [1]


async def test_concurrency_is_bounded(job_queue: JobQueue) -> None:
    running = 0
    peak = 0
    finished: list[str] = []
    release = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await release.wait()
        finally:
            running -= 1
        finished.append(delivery.job_id)

    for n in range(8):
        await job_queue.publish(f"job-{n}")
    async with consuming(job_queue, handler, concurrency=3):
        await eventually(lambda: running == 3, what="3 handlers running")
        await consistently(lambda: running == 3, what="exactly 3 handlers running")
        release.set()
        await eventually(lambda: len(finished) == 8, what="all jobs finished")

    assert peak == 3


async def test_stop_waits_for_in_flight_handlers(job_queue: JobQueue) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    finished: list[str] = []

    async def handler(delivery: Delivery) -> None:
        started.set()
        await release.wait()
        finished.append(delivery.job_id)

    stop = asyncio.Event()
    task = asyncio.create_task(job_queue.consume(handler, concurrency=2, stop=stop))
    await job_queue.publish("job-slow")
    await asyncio.wait_for(started.wait(), timeout=10)
    stop.set()
    await consistently(lambda: not task.done(), what="consume() waiting for its handler")
    release.set()
    await asyncio.wait_for(task, timeout=10)

    assert finished == ["job-slow"]
    # Published after the stop: stays queued for the next consumer.
    await job_queue.publish("job-later")
    assert await eventually(lambda: job_queue.depth(), what="depth 1") == 1


async def test_closing_the_queue_ends_its_consumers(job_queue: JobQueue) -> None:
    async def handler(delivery: Delivery) -> None:
        pass

    await job_queue.depth()  # connected, for the broker-backed queue
    task = asyncio.create_task(job_queue.consume(handler, concurrency=1, stop=asyncio.Event()))
    await consistently(lambda: not task.done(), duration=0.1, what="consumer running")
    await job_queue.aclose()
    await asyncio.wait_for(task, timeout=10)
