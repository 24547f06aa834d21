"""Unit tests of server/watch.py, the WatchJob stream, against a real SQLite job store and the
in-process event bus: the snapshot comes first, ``after_sequence`` resumes with no gap and no
repeat, the stream ends at the terminal event, a gap on the bus is filled from the log, and
with the bus down (a bus of our own port that can be switched off) the log alone carries the
stream, then the bus again once it is back.

Waits are bounded: each message must come within ``NEXT``; the log-reading timers a test does
not rely on are set far longer than that, so a test passes only by the path it names.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol, cast

import pytest
from consulta.v1 import transcription_service_pb2 as pb

from core.auth import Principal
from core.codec import progress_event, state_event
from core.db.store import Recorded
from core.domain import JobState
from core.errors import InvalidArgument, NotFound
from core.events.base import EventBus, Subscribers, Subscription
from core.runtime import Runtime, open_runtime
from core.settings import Settings
from server.watch import watch_job
from tests.support.jobs import new_job_row

ALICE = Principal(subject="alice", tenant="clinic-a")
NEXT = 10.0  # seconds any expected message may take
NEVER = 600.0  # a log-reading timer a test must not depend on
WORKER = "worker-1"


class SwitchableBus(EventBus):
    """The event bus port with a link the test turns off and on, as a broker outage does:
    while down, publishing reaches nobody and subscriptions are not live."""

    def __init__(self) -> None:
        self.up = False
        self._subscribers = Subscribers()

    async def publish(self, job_id: str, event: bytes) -> None:
        if self.up:
            self._subscribers.deliver(job_id, event)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(job_id, live=self.up)
        if not self.up:
            subscription.set_live(False)  # settled: the bus knows it is down
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.remove(subscription)

    def set_up(self, up: bool) -> None:
        self.up = up
        for subscription in self._subscribers.all():
            subscription.set_live(up)


class Make(Protocol):
    def __call__(self, *, poll: float = NEVER, check: float = NEVER) -> Awaitable[Runtime]: ...


@pytest.fixture
async def runtimes(tmp_path: Path) -> AsyncIterator[Make]:
    """``make(poll=, check=)``: a runtime on SQLite and the in-process bus with those log
    timers (by default neither fires within a test)."""
    opened: list[Runtime] = []

    async def make(*, poll: float = NEVER, check: float = NEVER) -> Runtime:
        settings = Settings(
            data_dir=tmp_path,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}",
            watch_poll_seconds=poll,
            watch_check_seconds=check,
        )
        runtime = await open_runtime(settings)
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        await runtime.aclose()


async def _running_job(runtime: Runtime) -> str:
    """A job claimed by a worker, with one stored event (QUEUED, sequence 1)."""
    row = new_job_row(owner=ALICE.subject, tenant=ALICE.tenant)
    await runtime.store.create_job(row, state_event(JobState.QUEUED))
    assert await runtime.store.claim(row.id, WORKER, lease_seconds=600) is not None
    return row.id


async def _progress(runtime: Runtime, job_id: str, *seconds: float) -> Recorded:
    """Stored progress events (one per value), not yet published."""
    events = [progress_event(s, 100.0) for s in seconds]
    recorded = await runtime.store.record(job_id, WORKER, events, lease_seconds=600)
    assert recorded is not None
    return recorded


async def _finish(runtime: Runtime, job_id: str) -> Recorded:
    recorded = await runtime.store.cancel(job_id, ALICE, "stopped by the test")
    assert recorded is not None
    return recorded


async def _all(stream: AsyncIterator[pb.WatchJobResponse]) -> list[pb.WatchJobResponse]:
    async with asyncio.timeout(NEXT):
        return [message async for message in stream]


def _sequences(messages: list[pb.WatchJobResponse]) -> list[int]:
    assert messages[0].HasField("snapshot")
    assert all(m.HasField("event") for m in messages[1:])
    return [m.event.sequence for m in messages[1:]]


class Reader:
    """A watch stream read by a task into a queue, so a test can act between messages."""

    def __init__(self, stream: AsyncIterator[pb.WatchJobResponse]) -> None:
        self.messages: asyncio.Queue[pb.WatchJobResponse | None] = asyncio.Queue()
        self.task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: AsyncIterator[pb.WatchJobResponse]) -> None:
        async for message in stream:
            self.messages.put_nowait(message)
        self.messages.put_nowait(None)  # the stream ended

    async def next(self) -> pb.WatchJobResponse | None:
        async with asyncio.timeout(NEXT):
            return await self.messages.get()

    async def sequences(self, count: int) -> list[int]:
        found = []
        for _ in range(count):
            message = await self.next()
            assert message is not None and message.HasField("event")
            found.append(message.event.sequence)
        return found

    def nothing_pending(self) -> bool:
        return self.messages.empty()

    async def ended(self) -> bool:
        end = await self.next()
        async with asyncio.timeout(NEXT):
            await self.task
        return end is None


async def test_snapshot_first_then_every_stored_event_then_the_end(runtimes: Make) -> None:
    runtime = await runtimes()
    job_id = await _running_job(runtime)
    await _progress(runtime, job_id, 10.0, 20.0, 30.0)
    await _finish(runtime, job_id)  # sequence 5
    messages = await _all(watch_job(runtime, ALICE, job_id, 0))
    assert messages[0].snapshot.job_id == job_id
    assert _sequences(messages) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("after", "expected"), [(1, [2, 3, 4, 5]), (3, [4, 5]), (4, [5])])
async def test_after_sequence_resumes_with_no_gap_and_no_repeat(
    runtimes: Make, after: int, expected: list[int]
) -> None:
    runtime = await runtimes()
    job_id = await _running_job(runtime)
    await _progress(runtime, job_id, 10.0, 20.0, 30.0)
    await _finish(runtime, job_id)
    assert _sequences(await _all(watch_job(runtime, ALICE, job_id, after))) == expected


@pytest.mark.parametrize("after", [5, 6, 1000])
async def test_at_or_past_the_end_of_a_finished_job_only_the_snapshot(
    runtimes: Make, after: int
) -> None:
    runtime = await runtimes()
    job_id = await _running_job(runtime)
    await _progress(runtime, job_id, 10.0, 20.0, 30.0)
    await _finish(runtime, job_id)
    messages = await _all(watch_job(runtime, ALICE, job_id, after))
    assert len(messages) == 1 and messages[0].snapshot.state != 0


async def test_live_events_follow_the_log_and_a_gap_is_filled_from_it(runtimes: Make) -> None:
    runtime = await runtimes()
    job_id = await _running_job(runtime)
    reader = Reader(watch_job(runtime, ALICE, job_id, 0))
    first = await reader.next()
    assert first is not None and first.HasField("snapshot")
    assert await reader.sequences(1) == [1]
    # Published: comes over the bus (the log is read again only after NEVER).
    published = await _progress(runtime, job_id, 10.0)
    await runtime.publish_events(published)
    assert await reader.sequences(1) == [2]
    # The same message twice is not repeated.
    await runtime.publish_events(published)
    # Sequence 3 is stored but its publish is lost; 4 arrives and shows the gap.
    await _progress(runtime, job_id, 20.0)
    fourth = await _progress(runtime, job_id, 30.0)
    await runtime.publish_events(fourth)
    assert await reader.sequences(2) == [3, 4]
    await runtime.publish_events(await _finish(runtime, job_id))
    assert await reader.sequences(1) == [5]
    assert await reader.ended()


async def test_with_the_bus_down_the_log_alone_carries_the_stream(runtimes: Make) -> None:
    runtime = await runtimes(poll=0.05)
    runtime.bus = SwitchableBus()
    job_id = await _running_job(runtime)
    reader = Reader(watch_job(runtime, ALICE, job_id, 0))
    first = await reader.next()
    assert first is not None and first.HasField("snapshot")
    assert await reader.sequences(1) == [1]
    await runtime.publish_events(await _progress(runtime, job_id, 10.0, 20.0))  # reaches nobody
    assert await reader.sequences(2) == [2, 3]
    await runtime.publish_events(await _finish(runtime, job_id))
    assert await reader.sequences(1) == [4]
    assert await reader.ended()


async def test_when_the_bus_returns_the_log_is_read_once_then_the_bus_carries_on(
    runtimes: Make,
) -> None:
    runtime = await runtimes()  # neither timer fires within the test
    bus = SwitchableBus()
    runtime.bus = bus
    job_id = await _running_job(runtime)
    reader = Reader(watch_job(runtime, ALICE, job_id, 0))
    await reader.next()
    assert await reader.sequences(1) == [1]
    # Published while the bus is down: lost; the stream gets it when the bus comes back.
    await runtime.publish_events(await _progress(runtime, job_id, 10.0))
    await asyncio.sleep(0)  # let the reader wait on the bus
    assert reader.nothing_pending()
    bus.set_up(True)
    assert await reader.sequences(1) == [2]
    await runtime.publish_events(await _progress(runtime, job_id, 20.0))
    assert await reader.sequences(1) == [3]
    await runtime.publish_events(await _finish(runtime, job_id))
    assert await reader.sequences(1) == [4]
    assert await reader.ended()


async def test_a_job_deleted_while_watched_ends_the_stream_with_not_found(
    runtimes: Make,
) -> None:
    runtime = await runtimes(check=0.05)  # the bus is up and quiet
    job_id = await _running_job(runtime)
    stream = watch_job(runtime, ALICE, job_id, 0)
    async with asyncio.timeout(NEXT):
        assert (await anext(stream)).HasField("snapshot")
        assert (await anext(stream)).event.sequence == 1
        assert await runtime.store.erase(job_id)
        with pytest.raises(NotFound, match="was deleted"):
            await anext(stream)


async def test_someone_elses_job_and_a_negative_sequence_are_refused(runtimes: Make) -> None:
    runtime = await runtimes()
    job_id = await _running_job(runtime)
    bob = Principal(subject="bob", tenant="clinic-a")
    with pytest.raises(NotFound):
        await anext(watch_job(runtime, bob, job_id, 0))
    with pytest.raises(InvalidArgument):
        await anext(watch_job(runtime, ALICE, job_id, -1))


async def test_watchers_share_each_live_event_and_a_stalled_one_holds_up_no_one(
    runtimes: Make,
) -> None:
    """The bus hands one bytes object to every subscription: each watcher yields the same
    response (parsed once), with the same bytes and sequence; a watcher that stops reading
    delays neither the publisher nor the other watcher, and gets everything once it reads."""
    runtime = await runtimes()
    job_id = await _running_job(runtime)
    reading = Reader(watch_job(runtime, ALICE, job_id, 0))
    stalled = cast(AsyncGenerator[pb.WatchJobResponse, None], watch_job(runtime, ALICE, job_id, 0))
    async with asyncio.timeout(NEXT):
        assert (await anext(stalled)).HasField("snapshot")
        assert (await anext(stalled)).event.sequence == 1
    first = await reading.next()
    assert first is not None and first.HasField("snapshot")
    assert await reading.sequences(1) == [1]
    live: list[pb.WatchJobResponse] = []
    for n in range(5):
        await runtime.publish_events(await _progress(runtime, job_id, 10.0 * (n + 1)))
        message = await reading.next()  # comes while the other stream is not read at all
        assert message is not None
        live.append(message)
    assert [m.event.sequence for m in live] == [2, 3, 4, 5, 6]
    async with asyncio.timeout(NEXT):
        late = [await anext(stalled) for _ in range(5)]
    assert [m.event.sequence for m in late] == [2, 3, 4, 5, 6]
    assert [m.SerializeToString() for m in late] == [m.SerializeToString() for m in live]
    assert all(a is b for a, b in zip(late, live, strict=True))  # one response per event
    await runtime.publish_events(await _finish(runtime, job_id))
    assert await reading.sequences(1) == [7]
    assert await reading.ended()
    await stalled.aclose()
