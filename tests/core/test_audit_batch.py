"""The audit log's group commit (core/db/audit_batch.py): every row of concurrent calls is
written, in the order they were recorded; calls that arrive while a commit is under way share
the next transaction; each ``record`` returns only once its row is committed and raises when
it could not be written (no caller left waiting); a cancelled caller does not lose the others'
rows."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.pool import QueuePool

from core.db.audit import AuditEntry
from core.db.audit_batch import AuditWriter
from core.db.models import AuditRow
from core.db.store import JobStore
from core.errors import Unavailable
from core.runtime import open_runtime
from core.settings import Settings
from tests.support.jobs import job_store


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    async with job_store(tmp_path, request.param) as jobs:
        yield jobs


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        subject=f"user-{n}",
        tenant="clinic-a",
        roles=frozenset({"clinician"}),
        action="GetTranscript",
        job_id=f"job-{n}",
        outcome="OK",
    )


async def job_ids(store: JobStore) -> list[str]:
    """The audit rows' job ids, in id order, read on a connection of their own."""
    async with store.engine.connect() as conn:
        found = await conn.execute(select(AuditRow.job_id).order_by(AuditRow.id))
        return list(found.scalars())


def count_commits(store: JobStore) -> list[int]:
    commits: list[int] = []
    event.listen(store.engine.sync_engine, "commit", lambda _conn: commits.append(1))
    return commits


async def test_concurrent_rows_are_all_written_in_order_in_fewer_transactions(
    store: JobStore,
) -> None:
    writer = AuditWriter(store)
    commits = count_commits(store)
    await asyncio.gather(*(writer.record(entry(n)) for n in range(50)))
    assert await job_ids(store) == [f"job-{n}" for n in range(50)]
    # All 50 were waiting before the writer's first transaction began: one holds them all.
    assert len(commits) == 1


async def test_a_record_returns_once_its_row_is_committed(store: JobStore) -> None:
    writer = AuditWriter(store)
    for n in range(3):
        await writer.record(entry(n))
        assert (await job_ids(store))[-1] == f"job-{n}"


async def test_when_the_log_cannot_be_written_every_waiting_call_fails(store: JobStore) -> None:
    writer = AuditWriter(store)
    await writer.record(entry(0))
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE audit_events"))
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(writer.record(entry(n)) for n in range(1, 20)), return_exceptions=True),
        timeout=30,
    )
    assert len(outcomes) == 19
    # SQLite's missing table is an OperationalError (UNAVAILABLE to the caller); PostgreSQL's
    # a ProgrammingError. Either way every call gets it and none returns as if recorded.
    wanted = Unavailable if store.engine.dialect.name == "sqlite" else Exception
    assert all(isinstance(o, wanted) for o in outcomes), outcomes


async def test_a_cancelled_caller_leaves_the_others_rows_written(store: JobStore) -> None:
    writer = AuditWriter(store)
    first = asyncio.create_task(writer.record(entry(0)))
    await asyncio.sleep(0)  # its transaction is under way
    waiting = [asyncio.create_task(writer.record(entry(n))) for n in range(1, 5)]
    await asyncio.sleep(0)
    waiting[1].cancel()
    await asyncio.gather(first, waiting[0], waiting[2], waiting[3])
    with pytest.raises(asyncio.CancelledError):
        await waiting[1]
    # The cancelled call's row went with the rest (its transaction was already being formed);
    # what matters is that the others' are there, in order.
    assert [j for j in await job_ids(store) if j != "job-2"] == ["job-0", "job-1", "job-3", "job-4"]


async def test_closing_the_runtime_waits_for_a_row_still_being_written(tmp_path: Path) -> None:
    # The server shields a cancelled call's audit row (server/access.py): it may still be on
    # its way when the server stops. Closing must wait for it, not close the database under it.
    runtime = await open_runtime(Settings(data_dir=tmp_path / "var"))
    call = asyncio.create_task(runtime.audit.record(entry(7)))
    await asyncio.sleep(0)  # the writer's transaction has started
    call.cancel()
    await runtime.aclose()
    pool = runtime.store.engine.pool
    assert isinstance(pool, QueuePool) and pool.checkedout() == 0
    # Read without yielding to the loop: the row was committed before aclose returned.
    with closing(sqlite3.connect(tmp_path / "var" / "consulta.db")) as db:
        assert db.execute("SELECT job_id FROM audit_events").fetchall() == [("job-7",)]
