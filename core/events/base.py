"""Live job events between processes.

Every event is first stored in the database with its sequence number (the job's event log),
then published here. The bus is only the fast path: a subscriber that sees a gap in sequence
numbers reads the missing events from the database, so a lost or late message costs latency,
never an event.

A :class:`Subscription` also says whether the bus is delivering its job's events right now
(``live``) and counts how often that delivery was (re)established (``generation``). While it
is not live, a subscriber reads the database on its own; when the generation changes, it
reads the log once to cover what was published before the binding came back.
"""

from __future__ import annotations

import asyncio
import collections
from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """Put in a subscription's inbox when its live state changes, to wake its reader."""

    live: bool


#: What :meth:`Subscription.receive` returns: an event, a change of the link, or None when
#: nothing came within the timeout.
Received = bytes | LinkChanged | None


class Subscription:
    """One subscriber's events of one job, in a bounded local inbox.

    The bus fills it without waiting: a full inbox drops its oldest item, so a slow reader
    holds up neither the bus nor the other subscribers; it sees the gap in sequence numbers
    and reads the missing events from the database.
    """

    def __init__(self, job_id: str, *, max_pending: int = 256, live: bool = True) -> None:
        self.job_id = job_id
        # A deque with maxlen drops its oldest item when full; one reader waits on _waiter.
        self._inbox: collections.deque[bytes | LinkChanged] = collections.deque(maxlen=max_pending)
        self._waiter: asyncio.Future[None] | None = None
        self._live = live
        self._settled = asyncio.Event()  # live, or the bus knows it cannot be live soon
        if live:
            self._settled.set()
        self.generation = 1 if live else 0
        self.closed = False

    @property
    def live(self) -> bool:
        """True while the bus delivers this job's events to this subscription."""
        return self._live and not self.closed

    def deliver(self, event: bytes) -> None:
        """Add an event without waiting (called by the bus)."""
        self._offer(event)

    def set_live(self, live: bool) -> None:
        """Mark the bus's delivery up or down (called by the bus); wakes the reader."""
        if live and not self._live:
            self.generation += 1
        self._settled.set()
        if live != self._live:
            self._live = live
            self._offer(LinkChanged(live))

    def end(self) -> None:
        """The bus is closing: no more events will come."""
        self.closed = True
        self._settled.set()
        self._offer(LinkChanged(False))

    async def wait_live(self, within: float) -> bool:
        """Wait (at most ``within`` seconds) until the subscription is live or the bus knows
        it cannot be soon; return ``live``. Never touches the broker."""
        if not self._settled.is_set():
            try:
                async with asyncio.timeout(within):
                    await self._settled.wait()
            except TimeoutError:
                pass
        return self.live

    async def receive(self, within: float) -> Received:
        """The next event or link change; None when nothing came ``within`` seconds.

        One reader at a time. It waits on one future and one timer of the loop's own, not
        on ``asyncio.Queue.get`` inside ``asyncio.timeout``: this runs once per event per
        watcher, and those two cost a Timeout object, a task lookup and a queue getter on
        every call (bench/results/profile-relay-before.txt)."""
        if self._inbox:
            return self._inbox.popleft()  # no timer for what is already here
        if self.closed:
            await asyncio.sleep(within)  # nothing can come; the caller reads the log
            return None
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(within, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        return self._inbox.popleft() if self._inbox else None

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> bytes:
        """The next event (link changes are skipped), until the bus closes."""
        while True:
            while self._inbox:
                item = self._inbox.popleft()
                if isinstance(item, bytes):
                    return item
            if self.closed:
                raise StopAsyncIteration
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def _offer(self, item: bytes | LinkChanged) -> None:
        self._inbox.append(item)  # full: the oldest item goes
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Subscribers:
    """A process's open subscriptions by job: what a bus fans each event out to."""

    def __init__(self) -> None:
        self._by_job: dict[str, set[Subscription]] = {}

    def add(self, subscription: Subscription) -> None:
        self._by_job.setdefault(subscription.job_id, set()).add(subscription)

    def remove(self, subscription: Subscription) -> bool:
        """Forget ``subscription``; True when it was the last one of its job."""
        subscriptions = self._by_job.get(subscription.job_id)
        if subscriptions is None:
            return False
        subscriptions.discard(subscription)
        if subscriptions:
            return False
        del self._by_job[subscription.job_id]
        return True

    def of(self, job_id: str) -> tuple[Subscription, ...]:
        """The subscriptions open for ``job_id`` now (a copy: delivering may change them)."""
        return tuple(self._by_job.get(job_id, ()))

    def jobs(self) -> set[str]:
        """The jobs that have at least one subscription."""
        return set(self._by_job)

    def deliver(self, job_id: str, event: bytes) -> None:
        for subscription in self.of(job_id):
            subscription.deliver(event)

    def all(self) -> list[Subscription]:
        return [s for subscriptions in self._by_job.values() for s in subscriptions]

    def end_all(self) -> None:
        """End every open subscription (the bus is closing)."""
        for subscription in self.all():
            subscription.end()


class EventBus(ABC):
    """Publishes and subscribes to serialized ``consulta.v1.JobEvent`` messages by job id."""

    @abstractmethod
    async def publish(self, job_id: str, event: bytes) -> None:
        """Send one serialized JobEvent to the job's current subscribers, in any process."""

    @abstractmethod
    def subscribe(self, job_id: str) -> AbstractAsyncContextManager[Subscription]:
        """Receive the job's events published after the subscription is live (with the
        broker up, it is live when the block starts).

        Use as ``async with bus.subscribe(job_id) as events: async for event in events``;
        leaving the block unsubscribes. Subscribing never fails because of the broker: while
        the bus is down the subscription is simply not ``live``.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
