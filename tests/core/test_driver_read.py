"""GetJob's read through the driver on PostgreSQL (core/db/driver_read.py): the same row as
SQLAlchemy reads, the same visibility rule, a delete seen at once by another server's store,
and pooled connections the database dropped cost no read an error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.auth import Principal
from core.codec import job_to_pb
from core.db.engine import create_engine
from core.db.store import JobStore
from core.domain import JobState
from core.errors import NotFound
from core.settings import Settings
from tests.support.jobs import (
    ALICE,
    ALICE_ELSEWHERE,
    BOB,
    SERVICE_A,
    SERVICE_B,
    claimed_job,
    job_store,
    not_found,
    queued_job,
    record_states,
)
from tests.support.services import POSTGRES_URL, drop_other_connections

pytestmark = pytest.mark.stack


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    async with job_store(tmp_path, "postgres") as jobs:
        assert jobs.pg_jobs is not None, "GetJob should read through the driver on PostgreSQL"
        yield jobs


@pytest.fixture
async def other_server(store: JobStore, tmp_path: Path) -> AsyncIterator[JobStore]:
    """A second server's store on the same database: its own engine and read pool."""
    engine = create_engine(Settings(data_dir=tmp_path, database_url=POSTGRES_URL))
    jobs = JobStore(engine)
    try:
        yield jobs
    finally:
        await engine.dispose()
        await jobs.aclose_readers()


async def test_the_driver_reads_the_row_sqlalchemy_reads(store: JobStore) -> None:
    job_id = await claimed_job(store)
    await record_states(store, job_id, JobState.FAILED, state=JobState.FAILED, progress=0.25)
    orm = await store.get(job_id)
    assert orm is not None
    read = await store.get_visible(job_id, ALICE)
    assert type(read).__name__ == "JobRecord"  # the driver's row, not SQLAlchemy's
    assert job_to_pb(read) == job_to_pb(orm)
    assert (read.owner, read.tenant, read.progress) == ("alice", "clinic-a", 0.25)


async def test_another_callers_job_stays_not_found(store: JobStore) -> None:
    job_id = await queued_job(store)
    for other in (BOB, ALICE_ELSEWHERE, SERVICE_B):
        assert await not_found(store, job_id, other)
    for allowed in (ALICE, SERVICE_A):
        assert (await store.get_visible(job_id, allowed)).id == job_id
    assert await not_found(store, "no-such-job", ALICE)


async def test_a_job_deleted_on_one_server_is_gone_on_the_other_at_once(
    store: JobStore, other_server: JobStore
) -> None:
    job_id = await queued_job(store)
    assert (await other_server.get_visible(job_id, ALICE)).id == job_id
    await store.cancel(job_id, ALICE, "Deleted by its owner.")
    assert (await other_server.get_visible(job_id, ALICE)).state == JobState.CANCELLED.value
    assert await store.erase(job_id)
    assert await not_found(other_server, job_id, ALICE)


async def test_reads_survive_every_pooled_connection_dropped(store: JobStore) -> None:
    job_id = await queued_job(store)
    # Several reads at once, so the read pool holds several connections...
    await asyncio.gather(*(store.get_visible(job_id, ALICE) for _ in range(8)))
    assert await drop_other_connections(POSTGRES_URL) >= 2
    # ...all dead now: the first read that meets one invalidates them all and runs again on
    # a fresh one, and so do the reads after it (one by one, each takes the pool's next).
    for _ in range(8):
        assert (await store.get_visible(job_id, ALICE)).id == job_id


async def test_more_reads_at_once_than_the_read_pool_holds_all_answer(store: JobStore) -> None:
    job_id = await queued_job(store)
    many = 64  # as bench/unary.py has in flight; the read pool has 15 connections, no overflow
    got = await asyncio.gather(*(store.get_visible(job_id, ALICE) for _ in range(many)))
    listed = await asyncio.gather(
        *(store.list_visible(ALICE, states=[], limit=10, page_token="") for _ in range(many))
    )
    assert {job.id for job in got} == {job_id}
    assert all([job.id for job in page] == [job_id] for page, _ in listed)


async def test_callers_sharing_a_statement_each_see_only_what_they_may(store: JobStore) -> None:
    alice_job = await queued_job(store)
    callers = [ALICE, BOB, ALICE_ELSEWHERE, SERVICE_A, SERVICE_B] * 8
    before = store.pg_jobs.statements if store.pg_jobs else 0

    async def read(principal: Principal) -> str:
        try:
            return (await store.get_visible(alice_job, principal)).id
        except NotFound:
            return "NOT_FOUND"

    seen = await asyncio.gather(*(read(p) for p in callers))

    allowed = {ALICE.subject + ALICE.tenant, SERVICE_A.subject + SERVICE_A.tenant}
    for principal, result in zip(callers, seen, strict=True):
        expected = alice_job if principal.subject + principal.tenant in allowed else "NOT_FOUND"
        assert result == expected, principal
    assert store.pg_jobs is not None
    assert store.pg_jobs.statements - before < len(callers)  # they shared statements
