"""ListJobs through statements built once per shape (core/db/list_reads.py; on PostgreSQL
through the driver): each page equals what the statement built per call gave before (kept
here as the reference), for users and service roles, with and without state filters, across
page tokens and rows that share a creation time; another caller's jobs never appear; a
deleted job is gone from the very next page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import and_, or_, select, update

from core.auth import Principal
from core.codec import state_event
from core.db.models import JobRow
from core.db.reads import decode_cursor, encode_cursor
from core.db.store import JobStore
from core.db.visibility import visible_to
from core.domain import JobState
from tests.support.jobs import (
    ALICE,
    ALICE_ELSEWHERE,
    BOB,
    SERVICE_A,
    SERVICE_B,
    job_store,
    new_job_row,
)

_JOBS = JobRow.__table__
PRINCIPALS = (ALICE, BOB, ALICE_ELSEWHERE, SERVICE_A, SERVICE_B)
FILTERS: tuple[tuple[JobState, ...], ...] = (
    (),
    (JobState.QUEUED,),
    (JobState.CANCELLED,),
    (JobState.QUEUED, JobState.CANCELLED),
    (JobState.COMPLETED,),
)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    async with job_store(tmp_path, request.param) as jobs:
        yield jobs


async def old_page(
    store: JobStore, principal: Principal, states: Sequence[JobState], limit: int, token: str
) -> tuple[list[str], str]:
    """The page as list_visible built it per call before h20: the reference."""
    query = select(_JOBS).where(visible_to(principal, _JOBS.c.owner, _JOBS.c.tenant))
    if states:
        query = query.where(_JOBS.c.state.in_([s.value for s in states]))
    if token:
        created, job_id = decode_cursor(token)
        query = query.where(
            or_(
                _JOBS.c.created_at < created,
                and_(_JOBS.c.created_at == created, _JOBS.c.id < job_id),
            )
        )
    query = query.order_by(_JOBS.c.created_at.desc(), _JOBS.c.id.desc()).limit(limit + 1)
    async with store.engine.connect() as conn:
        rows: list[Any] = list((await conn.execute(query)).all())
    if len(rows) > limit:
        return [r.id for r in rows[:limit]], encode_cursor(rows[limit - 1])
    return [r.id for r in rows], ""


async def all_pages(
    store: JobStore, principal: Principal, states: Sequence[JobState], limit: int, *, old: bool
) -> list[tuple[list[str], str]]:
    pages: list[tuple[list[str], str]] = []
    token = ""
    for _ in range(100):  # more pages than jobs: a token that does not move on
        if old:
            ids, token = await old_page(store, principal, states, limit, token)
        else:
            rows, token = await store.list_visible(
                principal, states=states, limit=limit, page_token=token
            )
            ids = [r.id for r in rows]
        pages.append((ids, token))
        if not token:
            return pages
    raise AssertionError("the pages never end")


async def some_jobs(store: JobStore) -> dict[str, list[str]]:
    """Jobs of alice, bob and alice in another tenant, some cancelled, half of alice's sharing
    one creation time (so pages turn on the id); their ids by owner."""
    made: dict[str, list[str]] = {"alice": [], "bob": [], "elsewhere": []}
    for n in range(9):
        for key, (owner, tenant) in {
            "alice": ("alice", "clinic-a"),
            "bob": ("bob", "clinic-a"),
            "elsewhere": ("alice", "clinic-b"),
        }.items():
            row = new_job_row(owner, tenant)
            await store.create_job(row, state_event(JobState.QUEUED))
            made[key].append(row.id)
            if n % 3 == 0:
                principal = {"alice": ALICE, "bob": BOB, "elsewhere": ALICE_ELSEWHERE}[key]
                await store.cancel(row.id, principal, "Not needed.")
    async with store.engine.begin() as conn:
        await conn.execute(
            update(JobRow)
            .where(JobRow.id.in_(made["alice"][::2]))
            .values(created_at=datetime(2026, 12, 2, 12, 0, 0, 123456))
        )
    return made


async def test_every_page_equals_the_per_call_statements(store: JobStore) -> None:
    # On PostgreSQL the pages come through the driver's prepared statements.
    assert bool(store.pg_list) == (store.engine.dialect.name == "postgresql")
    await some_jobs(store)
    for principal in PRINCIPALS:
        for states in FILTERS:
            for limit in (1, 2, 4, 20):
                new = await all_pages(store, principal, states, limit, old=False)
                old = await all_pages(store, principal, states, limit, old=True)
                assert new == old, (principal, states, limit)


async def test_another_callers_jobs_never_appear(store: JobStore) -> None:
    made = await some_jobs(store)
    for principal, theirs in (
        (ALICE, set(made["alice"])),
        (BOB, set(made["bob"])),
        (ALICE_ELSEWHERE, set(made["elsewhere"])),
        (SERVICE_A, set(made["alice"]) | set(made["bob"])),
        (SERVICE_B, set(made["elsewhere"])),
    ):
        for states in FILTERS:
            pages = await all_pages(store, principal, states, 2, old=False)
            listed = [job_id for ids, _ in pages for job_id in ids]
            assert set(listed) <= theirs and len(listed) == len(set(listed))
            if not states:
                assert set(listed) == theirs


async def test_a_deleted_job_is_gone_from_the_next_page(store: JobStore) -> None:
    made = await some_jobs(store)
    first, token = await store.list_visible(ALICE, states=[], limit=3, page_token="")
    gone = made["alice"][0]
    assert await store.erase(gone)
    pages = await all_pages(store, ALICE, (), 3, old=False)
    listed = [job_id for ids, _ in pages for job_id in ids]
    assert gone not in listed and len(listed) == len(made["alice"]) - 1
    # A token issued before the delete pages on without it.
    rest, _ = await store.list_visible(ALICE, states=[], limit=100, page_token=token)
    assert len(first) == 3 and gone not in [r.id for r in rest]
