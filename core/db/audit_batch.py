"""Audit rows written in group commits, for the calls server/access.py records.

Every audited call (GetTranscript and GetSummary on every call) appends a row and commits
before its data leaves the server. One transaction per call was most of a GetTranscript's
cost on the embedded default (bench/results/profile-gettranscript-h20-before.txt:
``AsyncSessionTransaction.__aexit__``, ``_AsyncSessionContextManager.__aexit__``,
``greenlet_spawn`` on the event loop, the aiosqlite thread's ``_connection_worker_thread``
committing each row), and SQLite commits one writer at a time anyway.

Here one transaction is under way at a time; the rows of calls that arrive meanwhile wait
and go together in the next one: one INSERT and one COMMIT for all of them (a group commit).
The guarantee is unchanged: :meth:`AuditWriter.record` returns only once the transaction
holding its row has committed, and raises that transaction's error otherwise, so a call whose
row is not written sends nothing (the caller gets UNAVAILABLE, as before). Rows keep the
order their calls recorded them in.
"""

from __future__ import annotations

import asyncio

from core.db.audit import AuditEntry, append, audit_values
from core.db.store import JobStore

#: Most rows in one transaction; more wait for the next.
MAX_BATCH = 500


class AuditWriter:
    """The group-committing writer of one server's audit rows (one event loop)."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._waiting: list[tuple[dict[str, object], asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def record(self, entry: AuditEntry) -> None:
        """Append ``entry``; returns once it is committed, raises if it was not."""
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((audit_values(entry), written))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_waiting())
        await written

    async def drain(self) -> None:
        """Wait until every row recorded so far is written. The runtime calls it before the
        database closes: a cancelled call's row is still being written then (server/access.py
        shields it), and closing under it would drop the row and orphan its connection."""
        while self._writing is not None and not self._writing.done():
            # wait(), not await: a drain cut short by the shutdown deadline leaves the write be.
            await asyncio.wait({self._writing})

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch = self._waiting[:MAX_BATCH]
            del self._waiting[:MAX_BATCH]
            try:
                await append(self._store, [values for values, _ in batch])
            except Exception as exc:
                _settle(batch, exc)
            except BaseException:
                # Cancelled (the server stopping): no caller is left waiting for ever.
                waiting, self._waiting = self._waiting, []
                _settle(batch + waiting, None, cancelled=True)
                raise
            else:
                _settle(batch, None)


def _settle(
    batch: list[tuple[dict[str, object], asyncio.Future[None]]],
    error: Exception | None,
    *,
    cancelled: bool = False,
) -> None:
    for _, written in batch:
        if written.done():  # its caller was cancelled
            continue
        if cancelled:
            written.cancel()
        elif error is None:
            written.set_result(None)
        else:
            written.set_exception(error)
