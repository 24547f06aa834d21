"""Unit tests of the job store's claims and leases (core/db/store.py), on SQLite and on the
machine's PostgreSQL: the conditional updates that make a redelivered message harmless."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.codec import state_event
from core.db.engine import create_engine
from core.db.migrate import upgrade_engine
from core.db.store import JobStore
from core.domain import JobState
from core.settings import Settings
from tests.e2e.conftest import reset_postgres
from tests.support.jobs import new_job_row
from tests.support.services import POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.stack)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    if request.param == "postgres":
        await reset_postgres()
        url = POSTGRES_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    engine = create_engine(Settings(data_dir=tmp_path, database_url=url))
    if request.param == "sqlite":
        await upgrade_engine(engine)
    jobs = JobStore(engine)
    try:
        yield jobs
    finally:
        await engine.dispose()
        await jobs.aclose_readers()


async def queued_job(store: JobStore) -> str:
    row = new_job_row()
    await store.create_job(row, state_event(JobState.QUEUED))
    return row.id


async def test_a_job_is_claimed_once_while_its_lease_holds(store: JobStore) -> None:
    job_id = await queued_job(store)
    first = await store.claim(job_id, "worker-a", lease_seconds=60)
    assert first is not None and first.lease_owner == "worker-a" and first.attempts == 1
    # A redelivered message, seen by another worker, claims nothing.
    assert await store.claim(job_id, "worker-b", lease_seconds=60) is None
    assert await store.claim(str(uuid.uuid4()), "worker-b", lease_seconds=60) is None


async def test_an_expired_lease_is_taken_over_and_the_old_holder_can_write_nothing(
    store: JobStore,
) -> None:
    job_id = await queued_job(store)
    assert await store.claim(job_id, "worker-a", lease_seconds=-1) is not None
    taken = await store.claim(job_id, "worker-b", lease_seconds=60)
    assert taken is not None and taken.lease_owner == "worker-b" and taken.attempts == 2
    assert await store.record(job_id, "worker-a", [], lease_seconds=60) is None
    assert not await store.release(job_id, "worker-a")
    assert await store.record(job_id, "worker-b", [], lease_seconds=60) is not None


async def test_a_released_job_is_queued_again_and_claimable(store: JobStore) -> None:
    job_id = await queued_job(store)
    assert await store.claim(job_id, "worker-a", lease_seconds=60) is not None
    assert await store.release(job_id, "worker-a")
    row = await store.get(job_id)
    assert row is not None and row.state == JobState.QUEUED.value and row.lease_owner is None
    assert await store.claim(job_id, "worker-b", lease_seconds=60) is not None


async def test_a_finished_job_is_never_claimed_again(store: JobStore) -> None:
    job_id = await queued_job(store)
    assert await store.claim(job_id, "worker-a", lease_seconds=60) is not None
    recorded = await store.record(
        job_id,
        "worker-a",
        [state_event(JobState.COMPLETED)],
        lease_seconds=60,
        state=JobState.COMPLETED,
    )
    assert recorded is not None and len(recorded.events) == 1
    assert await store.claim(job_id, "worker-b", lease_seconds=60) is None
    row = await store.get(job_id)
    assert row is not None and row.lease_owner is None and row.event_seq == 2


async def test_events_are_numbered_without_gaps_and_read_after_a_sequence(
    store: JobStore,
) -> None:
    job_id = await queued_job(store)
    assert await store.claim(job_id, "worker-a", lease_seconds=60) is not None
    for state in (JobState.TRANSCRIBING, JobState.SUMMARIZING):
        await store.record(job_id, "worker-a", [state_event(state)], lease_seconds=60)
    assert [e.seq for e in await store.events_after(job_id, 0)] == [1, 2, 3]
    assert [e.seq for e in await store.events_after(job_id, 1)] == [2, 3]
