"""Reads of one row by id, coalesced: calls that arrive while the database is busy with
earlier ones go together in the next statement (``WHERE id = ANY(...)``).

GetJob on PostgreSQL was one round trip a call: at 64 calls in flight, the asyncpg socket
write and its read were a large share of the server's samples (``_SelectorSocketTransport.
write``: 34% own on an earlier machine, bench/results/profile-getjob-pg-h19-after-1.txt; 5.0%
on the machine of profile-getjob-pg-before-coalescing.txt, 2.5% after this change).
Here at most ``in_flight`` statements run at once; a call that finds them all busy waits
with the others that arrive, and the next statement reads all their rows. A call on an idle
server goes out at once, alone, so a lone read waits for nothing it did not wait for before.

Nothing is stale: each call's row is read by a statement that starts after the call did, as
before. Who may see a row is not in the statement (calls from different callers share it);
the caller checks it on the row (core/db/job_cache.py ``may_see``, the SQL rule's twin).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar


class HasId(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=HasId)


class CoalescedReads(Generic[R]):
    """``get(id)`` for many callers at once, at most ``in_flight`` statements at a time,
    each for at most ``most`` ids."""

    def __init__(
        self,
        fetch: Callable[[list[str]], Awaitable[Sequence[R]]],
        *,
        in_flight: int,
        most: int = 256,
    ) -> None:
        """``fetch`` reads the rows of some ids (any order, missing ones left out)."""
        if in_flight < 1 or most < 1:
            raise ValueError("in_flight and most must be at least 1")
        self._fetch = fetch
        self._in_flight = in_flight
        self._most = most
        self._running = 0
        self._waiting: dict[str, list[asyncio.Future[R | None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Statements run so far (tests and benches read it).
        self.statements = 0

    async def get(self, row_id: str) -> R | None:
        """The row with this id, or None; a failed statement's error is every caller's."""
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(row_id, []).append(future)
        if self._running < self._in_flight:
            self._start()
        return await future

    def _start(self) -> None:
        batch: dict[str, list[asyncio.Future[R | None]]] = {}
        while self._waiting and len(batch) < self._most:
            row_id = next(iter(self._waiting))
            # Callers that gave up (their deadline) are dropped here, not read for.
            live = [f for f in self._waiting.pop(row_id) if not f.done()]
            if live:
                batch[row_id] = live
        if not batch:
            return
        self._running += 1
        self.statements += 1
        task = asyncio.get_running_loop().create_task(self._read(batch))
        self._tasks.add(task)
        # The bookkeeping is the task's done callback, not a ``finally`` in it: a task
        # cancelled before its first step never runs its body.
        task.add_done_callback(lambda done: self._finished(done, batch))

    async def _read(self, batch: dict[str, list[asyncio.Future[R | None]]]) -> None:
        rows = await self._fetch(list(batch))
        found = {row.id: row for row in rows}
        for row_id, futures in batch.items():
            for future in futures:
                if not future.done():
                    future.set_result(found.get(row_id))

    def _finished(
        self, task: asyncio.Task[None], batch: dict[str, list[asyncio.Future[R | None]]]
    ) -> None:
        self._tasks.discard(task)
        self._running -= 1
        if task.cancelled():
            # The server is closing (nothing else cancels these tasks): so are the callers of
            # this statement and of those to come, and no statement starts now.
            for futures in (*batch.values(), *self._waiting.values()):
                for future in futures:
                    future.cancel()
            self._waiting.clear()
            return
        failure = task.exception()
        if failure is not None:
            for futures in batch.values():
                for future in futures:
                    if not future.done():  # every caller of the statement gets its failure
                        future.set_exception(failure)
        if self._waiting and self._running < self._in_flight:
            self._start()
