"""Reads of one row by id, coalesced: calls that arrive while the database is busy with
earlier ones go together in the next statement (``WHERE id = ANY(...)``).

GetJob on PostgreSQL was one round trip a call: at 64 calls in flight, the asyncpg socket
write and its read were the largest share of the server's samples
(``_SelectorSocketTransport.write``, 34% own, bench/results/profile-getjob-pg-h19-after-1.txt).
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
        ids = list(self._waiting)[: self._most]
        batch = {row_id: self._waiting.pop(row_id) for row_id in ids}
        self._running += 1
        self.statements += 1
        task = asyncio.get_running_loop().create_task(self._read(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, batch: dict[str, list[asyncio.Future[R | None]]]) -> None:
        try:
            rows = await self._fetch(list(batch))
        except asyncio.CancelledError:  # the server is closing: so are its callers
            for futures in batch.values():
                for future in futures:
                    future.cancel()
            raise
        except Exception as exc:  # every caller of the statement gets its failure
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
        else:
            found = {row.id: row for row in rows}
            for row_id, futures in batch.items():
                for future in futures:
                    if not future.done():  # a caller that gave up (its deadline) is skipped
                        future.set_result(found.get(row_id))
        finally:
            self._running -= 1
            if self._waiting:
                self._start()
