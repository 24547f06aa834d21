"""Unit tests of the uploads store (core/db/upload_store.py), on SQLite and on PostgreSQL:
the conditional updates that keep one live upload's segments, its finish and its sweep from
ever being done twice, and the batch sweep that leaves live uploads alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.codec import state_event
from core.db.models import UploadRow
from core.db.store import JobStore, utcnow
from core.db.upload_store import LIVE_HANDLE, UploadStore, segment_keys
from core.domain import JobState
from tests.support.jobs import job_store, new_job_row


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.stack)])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[JobStore, UploadStore]]:
    async with job_store(tmp_path, request.param) as jobs:
        yield jobs, UploadStore(jobs.engine)


def upload_row(upload_id: str, *, live: bool) -> UploadRow:
    now = utcnow()
    return UploadRow(
        id=upload_id,
        owner="alice",
        tenant="clinic-a",
        config=b"",
        blob_key=f"audio/{upload_id}",
        multipart_handle=LIVE_HANDLE if live else "handle",
        parts_json="[]",
        committed_offset=0,
        complete=False,
        job_id=None,
        created_at=now,
        updated_at=now,
    )


async def live_job(jobs: JobStore) -> str:
    job = new_job_row()
    job.state = JobState.RECEIVING.value
    await jobs.create_job(
        job, state_event(JobState.RECEIVING), upload=upload_row(job.id, live=True)
    )
    return job.id


async def test_a_segment_commits_only_after_the_offset_it_follows(
    stores: tuple[JobStore, UploadStore],
) -> None:
    jobs, uploads = stores
    job_id = await live_job(jobs)
    assert await uploads.commit_segment(job_id, 0, [(100, "a")])
    # A second stream that still believes the upload is empty commits nothing.
    assert not await uploads.commit_segment(job_id, 0, [(50, "b")])
    assert await uploads.commit_segment(job_id, 100, [(100, "a"), (30, "a")])
    row = await uploads.get(job_id)
    assert row is not None and row.committed_offset == 130
    assert [key for key, _ in segment_keys(row)] == [
        f"live/{job_id}/00000001-a",
        f"live/{job_id}/00000002-a",
    ]


async def test_no_segment_commits_once_the_job_is_cancelled(
    stores: tuple[JobStore, UploadStore],
) -> None:
    jobs, uploads = stores
    job_id = await live_job(jobs)
    assert await uploads.commit_segment(job_id, 0, [(10, "a")])
    await jobs.fail(job_id, "CANCELLED", "Cancelled by its owner.")
    assert not await uploads.commit_segment(job_id, 10, [(10, "a"), (10, "a")])
    row = await uploads.get(job_id)
    assert row is not None and row.committed_offset == 10  # rolled back whole
    assert json.loads(row.parts_json) == [[10, "a"]]


async def test_finish_is_claimed_once_and_stops_commits(
    stores: tuple[JobStore, UploadStore],
) -> None:
    jobs, uploads = stores
    job_id = await live_job(jobs)
    assert await uploads.commit_segment(job_id, 0, [(10, "a")])
    assert await uploads.claim_finish(job_id, 5) is None  # not where the caller thinks
    claims = await asyncio.gather(*(uploads.claim_finish(job_id, 10) for _ in range(4)))
    assert len([c for c in claims if c is not None]) == 1
    assert not await uploads.commit_segment(job_id, 10, [(10, "a"), (5, "a")])
    assert await uploads.finish_live(job_id, {"audio_key": f"audio/{job_id}"})
    assert not await uploads.finish_live(job_id, {"audio_key": f"audio/{job_id}"})
    row = await uploads.get(job_id)
    assert row is not None and (row.complete, row.job_id) == (True, job_id)
    job = await jobs.get(job_id)
    assert job is not None and job.audio_key == f"audio/{job_id}"


async def test_idle_live_uploads_are_claimed_once_and_batch_sweeps_leave_them(
    stores: tuple[JobStore, UploadStore],
) -> None:
    jobs, uploads = stores
    idle = await live_job(jobs)
    await uploads.add(upload_row("batch-1", live=False))
    later = utcnow() + timedelta(seconds=5)
    earlier = utcnow() - timedelta(seconds=60)
    taken = await asyncio.gather(
        *(
            uploads.claim_idle_live(idle_since=later, stuck_since=earlier, limit=10)
            for _ in range(3)
        )
    )
    assert sorted(row.id for rows in taken for row in rows) == [idle]
    # Finishing now: taken again only once its finisher is silent past ``stuck_since``.
    assert await uploads.claim_idle_live(idle_since=later, stuck_since=earlier, limit=10) == []
    again = await uploads.claim_idle_live(idle_since=later, stuck_since=later, limit=10)
    assert [row.id for row in again] == [idle]
    stale = await uploads.claim_stale(untouched_since=later, limit=10)
    assert [row.id for row in stale] == ["batch-1"]


async def test_a_late_part_of_a_stream_that_was_resumed_elsewhere_moves_nothing_back(
    stores: tuple[JobStore, UploadStore],
) -> None:
    _, uploads = stores
    await uploads.add(upload_row("batch-2", live=False))
    # Server 1 wrote part 1; the stream broke and a resume on server 2 went on to part 3.
    assert await uploads.commit_part("batch-2", 8, '[[1, "a"]]', after=0)
    assert await uploads.commit_part("batch-2", 16, '[[1, "a"], [2, "b"]]', after=8)
    assert await uploads.commit_part("batch-2", 24, '[[1, "a"], [2, "b"], [3, "c"]]', after=16)
    # Server 1's part 2, written late from the offset it last knew: refused, nothing changed.
    assert not await uploads.commit_part("batch-2", 16, '[[1, "a"], [2, "late"]]', after=8)
    row = await uploads.get("batch-2")
    assert row is not None and row.committed_offset == 24
    assert json.loads(row.parts_json) == [[1, "a"], [2, "b"], [3, "c"]]
