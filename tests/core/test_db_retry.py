"""Optimistic disconnect handling (core/db/retry.py, core/db/engine.py): with no pre-ping,
every store operation that meets pooled connections the database dropped runs once more on a
fresh one, and a write whose COMMIT may have gone out is never repeated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from consulta.v1 import transcription_service_pb2 as pb
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.codec import state_event
from core.db import audit, retention
from core.db.engine import ConnectionLost, create_engine
from core.db.retry import before_commit, idempotent
from core.db.store import JobStore
from core.db.upload_store import UploadStore
from core.domain import JobState
from core.errors import Unavailable
from core.settings import Settings
from tests.e2e.conftest import reset_postgres
from tests.support.jobs import new_job_row
from tests.support.services import POSTGRES_URL, drop_other_connections


def failing(times: int, error: Exception) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """An operation that raises ``error`` its first ``times`` calls, then answers."""
    calls: list[int] = []

    async def operation() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return operation, calls


async def test_a_read_runs_once_more_after_a_lost_connection_and_no_more() -> None:
    once, calls = failing(1, ConnectionLost(in_commit=True))
    assert await idempotent(once)() == "done" and len(calls) == 2
    twice, calls = failing(2, ConnectionLost(in_commit=False))
    with pytest.raises(ConnectionLost):
        await idempotent(twice)()
    assert len(calls) == 2


async def test_a_write_is_repeated_only_when_lost_before_its_commit() -> None:
    before, calls = failing(1, ConnectionLost(in_commit=False))
    assert await before_commit(before)() == "done" and len(calls) == 2
    during, calls = failing(1, ConnectionLost(in_commit=True))
    with pytest.raises(ConnectionLost) as caught:
        await before_commit(during)()
    assert len(calls) == 1 and caught.value.reason == "DATABASE_UNAVAILABLE"


async def test_other_outages_are_not_repeated() -> None:
    locked, calls = failing(1, Unavailable("locked"))
    with pytest.raises(Unavailable):
        await idempotent(locked)()
    assert len(calls) == 1


async def drop_pooled_connections(engine: AsyncEngine) -> None:
    """Fill the pool with three connections, then terminate every session on the test
    database but the admin's own, as a restart or failover does."""
    async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
        for conn in (a, b, c):
            await conn.execute(text("SELECT 1"))
    dropped = await drop_other_connections(POSTGRES_URL)
    assert dropped >= 3
    await asyncio.sleep(0.05)  # the terminations reach the pooled sockets


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    await reset_postgres()
    engine = create_engine(Settings(data_dir=tmp_path, database_url=POSTGRES_URL))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.mark.stack
async def test_every_store_operation_survives_pooled_connections_the_database_dropped(
    engine: AsyncEngine,
) -> None:
    assert not engine.sync_engine.pool._pre_ping  # no round trip per checkout
    store, uploads = JobStore(engine), UploadStore(engine)
    row = new_job_row()

    await drop_pooled_connections(engine)
    _, recorded = await store.create_job(row, state_event(JobState.QUEUED))
    assert recorded is not None
    await drop_pooled_connections(engine)
    claimed = await store.claim(row.id, "worker-a", lease_seconds=60)
    assert claimed is not None and claimed.attempts == 1  # claimed once, not twice
    await drop_pooled_connections(engine)
    event = pb.JobEvent(progress=pb.TranscriptionProgress(processed_seconds=1.0))
    assert await store.record(row.id, "worker-a", [event], lease_seconds=60) is not None
    await drop_pooled_connections(engine)
    assert [e.seq for e in await store.events_after(row.id, 0)] == [1, 2]
    await drop_pooled_connections(engine)
    job = await store.get(row.id)
    assert job is not None and job.event_seq == 2
    await drop_pooled_connections(engine)
    assert await uploads.get(row.id) is None
    await drop_pooled_connections(engine)
    await retention.set_policy(store, "clinic-a", 60, "admin")
    await drop_pooled_connections(engine)
    policy = await retention.get_policy(store, "clinic-a")
    assert policy is not None and policy.retention_seconds == 60
    await drop_pooled_connections(engine)
    entry = audit.AuditEntry("alice", "clinic-a", frozenset(), "GetJob", row.id, "OK")
    await audit.record(store, entry)
    await drop_pooled_connections(engine)
    rows, _ = await audit.list_events(
        store, audit.AuditQuery(tenant="clinic-a"), limit=10, page_token=""
    )
    assert [r.job_id for r in rows] == [row.id]
    await drop_pooled_connections(engine)
    assert await store.erase(row.id)


@pytest.mark.stack
async def test_a_database_that_refuses_connections_is_unavailable(tmp_path: Path) -> None:
    # Nothing listens on port 9 of the loopback: the connect is refused at once.
    url = "postgresql+asyncpg://postgres@127.0.0.1:9/none"
    engine = create_engine(Settings(data_dir=tmp_path, database_url=url))
    try:
        with pytest.raises(Unavailable):
            await JobStore(engine).get("0" * 36)
    finally:
        await engine.dispose()
