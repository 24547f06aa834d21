"""The per-server job cache (core/db/job_cache.py): bounded, TTL-limited, never put back a row
read before a write ended, and, behind the job store on SQLite, exact: another caller's job
stays NOT_FOUND from a cached row, and deletes, cancels, a worker's writes, the sweeper's touch
and a live upload's finish are seen by the very next read. The TTL is an hour here, so only
invalidation can make these reads fresh."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from consulta.v1 import transcription_service_pb2 as pb

from core.db.job_cache import JobCache, cache_enabled, may_see
from core.db.result_reads import VisibleResult
from core.db.store import JobStore
from core.db.upload_store import UploadStore
from core.db.views import JobView
from core.domain import JobState
from core.runtime import job_cache
from core.settings import Settings
from tests.support.jobs import (
    ALICE,
    ALICE_ELSEWHERE,
    BOB,
    SERVICE_A,
    SERVICE_B,
    WORKER,
    job_store,
    new_job_row,
    not_found,
    queued_job,
    record_states,
)
from tests.support.services import POSTGRES_URL

HOUR = 3600.0


ROWS: dict[str, JobView] = {n: cast(JobView, object()) for n in ("a", "b", "c", "d", "old", "new")}


def row(name: str) -> JobView:
    """A distinct stand-in row: the cache never looks inside the rows it holds."""
    return ROWS[name]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    cache = JobCache(3, HOUR)
    for name in ("a", "b", "c"):
        assert cache.put(name, row(name), cache.generation())
    assert cache.get("a") is row("a")  # a is now the most recently used
    cache.put("d", row("d"), cache.generation())
    assert len(cache) == 3
    assert cache.get("b") is None
    assert [cache.get(n) for n in ("a", "c", "d")] == [row(n) for n in ("a", "c", "d")]


def test_an_entry_is_served_only_within_its_ttl() -> None:
    clock = Clock()
    cache = JobCache(10, 2.0, clock=clock)
    cache.put("a", row("a"), cache.generation())
    clock.now += 1.9
    assert cache.get("a") is row("a")
    clock.now += 0.1
    assert cache.get("a") is None
    assert len(cache) == 0


def test_a_read_under_way_when_a_write_ends_is_not_cached() -> None:
    cache = JobCache(10, HOUR)
    cache.put("a", row("old"), cache.generation())
    before = cache.generation()  # a read starts, and reads the row as it was
    cache.invalidate("a")  # meanwhile a write to the job ends
    assert not cache.put("a", row("old"), before)
    assert cache.get("a") is None
    assert cache.put("a", row("new"), cache.generation())
    assert cache.get("a") is row("new")


def test_the_visibility_rule_on_a_row_matches_the_sql_one() -> None:
    assert may_see(ALICE, "alice", "clinic-a")
    assert not may_see(BOB, "alice", "clinic-a")
    assert not may_see(ALICE_ELSEWHERE, "alice", "clinic-a")
    assert may_see(SERVICE_A, "alice", "clinic-a")
    assert not may_see(SERVICE_B, "alice", "clinic-a")


def test_the_cache_is_on_by_default_only_where_it_is_exact(tmp_path: Path) -> None:
    sqlite, memory, amqp = "sqlite+aiosqlite:///x.db", "memory://", "amqp://127.0.0.1:5672/"
    assert cache_enabled("auto", sqlite, memory)
    assert not cache_enabled("auto", POSTGRES_URL, amqp)
    # A SQLite file with workers fed by RabbitMQ: other processes write it.
    assert not cache_enabled("auto", sqlite, amqp)
    assert cache_enabled("on", POSTGRES_URL, amqp)
    assert not cache_enabled("off", sqlite, memory)
    embedded = job_cache(Settings(data_dir=tmp_path, job_cache_entries=5))
    assert embedded is not None and embedded.max_entries == 5
    assert job_cache(Settings(data_dir=tmp_path, database_url=POSTGRES_URL)) is None
    assert job_cache(Settings(data_dir=tmp_path, job_cache_entries=0)) is None


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    async with job_store(tmp_path, cache=JobCache(100, HOUR)) as jobs:
        yield jobs


async def cached_job(store: JobStore) -> str:
    """A QUEUED job of alice in clinic-a, read once so that its row is cached."""
    job_id = await queued_job(store)
    assert (await store.get_visible(job_id, ALICE)).state == JobState.QUEUED.value
    assert store.cache is not None and store.cache.get(job_id) is not None
    return job_id


async def test_a_cached_job_stays_not_found_for_other_callers(store: JobStore) -> None:
    job_id = await cached_job(store)
    for other in (BOB, ALICE_ELSEWHERE, SERVICE_B):
        assert await not_found(store, job_id, other)
    assert store.cache is not None and store.cache.get(job_id) is not None  # still cached
    assert (await store.get_visible(job_id, SERVICE_A)).id == job_id
    assert (await store.get_visible(job_id, ALICE)).id == job_id


async def test_a_deleted_job_is_gone_at_once(store: JobStore) -> None:
    job_id = await cached_job(store)
    await store.cancel(job_id, ALICE, "Deleted by its owner.")
    assert (await store.get_visible(job_id, ALICE)).state == JobState.CANCELLED.value
    assert await store.erase(job_id)
    assert await not_found(store, job_id, ALICE)


async def test_a_workers_writes_are_seen_by_the_next_read(store: JobStore) -> None:
    job_id = await cached_job(store)
    assert await store.claim(job_id, WORKER, lease_seconds=60) is not None
    recorded = await record_states(
        store, job_id, JobState.TRANSCRIBING, state=JobState.TRANSCRIBING, progress=0.5
    )
    assert recorded is not None
    seen = await store.get_visible(job_id, ALICE)
    assert (seen.state, seen.progress) == (JobState.TRANSCRIBING.value, 0.5)
    assert await store.release(job_id, WORKER)
    assert (await store.get_visible(job_id, ALICE)).state == JobState.QUEUED.value
    await store.fail(job_id, "ENGINE", "It broke.")
    failed = await store.get_visible(job_id, ALICE)
    assert (failed.state, failed.error_code) == (JobState.FAILED.value, "ENGINE")


async def test_the_sweepers_touch_is_seen_by_the_next_read(store: JobStore) -> None:
    job_id = await cached_job(store)
    before = (await store.get_visible(job_id, ALICE)).updated_at
    cached: Any = store.cache
    stale, _ = await store.due_for_republish(queued_before=before.replace(year=2999), limit=10)
    assert stale == [job_id]
    assert cached.get(job_id) is None
    assert (await store.get_visible(job_id, ALICE)).updated_at > before


async def test_a_live_uploads_finish_drops_the_cached_job(store: JobStore) -> None:
    job_id = await cached_job(store)
    uploads = UploadStore(store.engine, store.job_changed)
    # No finishing upload of that id, so the finish is refused; the entry goes all the same.
    assert not await uploads.finish_live(job_id, {"audio_key": "x"})
    assert store.cache is not None and store.cache.get(job_id) is None


async def test_creating_a_job_needs_no_invalidation(store: JobStore) -> None:
    # A missing job is never cached, so a job created after a NOT_FOUND is seen at once.
    job = new_job_row()
    assert await not_found(store, job.id, ALICE)
    await store.create_job(job, pb.JobEvent(state_changed=pb.StateChanged()))
    assert (await store.get_visible(job.id, ALICE)).id == job.id


async def test_without_the_cache_the_sql_rule_keeps_callers_apart_too(store: JobStore) -> None:
    job_id = await cached_job(store)
    uncached = JobStore(store.engine)  # the prebuilt statements, for a user and a service
    try:
        for other in (BOB, ALICE_ELSEWHERE, SERVICE_B):
            assert await not_found(uncached, job_id, other)
        for allowed in (ALICE, SERVICE_A):
            assert (await uncached.get_visible(job_id, allowed)).id == job_id
    finally:
        await uncached.aclose_readers()


def test_results_are_bounded_checked_by_generation_and_dropped_with_their_job() -> None:
    cache = JobCache(200, HOUR)  # two results at most
    made = {n: VisibleResult("alice", "clinic-a", n.encode()) for n in ("a", "b", "c")}
    for name in ("a", "b", "c"):
        assert cache.put_result("transcript", name, made[name], cache.generation())
    assert cache.get_result("transcript", "a") is None  # the least recently used went
    assert cache.get_result("transcript", "c") is made["c"]
    assert cache.get_result("summary", "c") is None  # kinds apart
    generation = cache.generation()
    cache.invalidate("c")
    assert cache.get_result("transcript", "c") is None
    assert not cache.put_result("transcript", "c", made["c"], generation)  # read before it
    assert cache.get_result("transcript", "b") is made["b"]
