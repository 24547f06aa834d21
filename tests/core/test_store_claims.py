"""Unit tests of the job store's claims and leases (core/db/store.py), on SQLite and on the
machine's PostgreSQL: the conditional updates that make a redelivered message harmless."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from consulta.v1 import transcription_service_pb2 as pb

from core.codec import note_completed_event, state_event
from core.db.store import JobStore
from core.domain import JobState, Note, NoteSection, Segment, Template, Transcript
from tests.support.jobs import claimed_job, job_store, queued_job, record_states


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.stack)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    async with job_store(tmp_path, request.param) as jobs:
        yield jobs


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
    job_id = await claimed_job(store, lease_seconds=-1)
    taken = await store.claim(job_id, "worker-b", lease_seconds=60)
    assert taken is not None and taken.lease_owner == "worker-b" and taken.attempts == 2
    assert await store.record(job_id, "worker-a", [], lease_seconds=60) is None
    assert not await store.release(job_id, "worker-a")
    assert await store.record(job_id, "worker-b", [], lease_seconds=60) is not None


async def test_a_released_job_is_queued_again_and_claimable(store: JobStore) -> None:
    job_id = await claimed_job(store)
    assert await store.release(job_id, "worker-a")
    row = await store.get(job_id)
    assert row is not None and row.state == JobState.QUEUED.value and row.lease_owner is None
    assert await store.claim(job_id, "worker-b", lease_seconds=60) is not None


async def test_a_finished_job_is_never_claimed_again(store: JobStore) -> None:
    job_id = await claimed_job(store)
    recorded = await record_states(store, job_id, JobState.COMPLETED, state=JobState.COMPLETED)
    assert recorded is not None and len(recorded.events) == 1
    assert await store.claim(job_id, "worker-b", lease_seconds=60) is None
    row = await store.get(job_id)
    assert row is not None and row.lease_owner is None and row.event_seq == 2


async def test_events_are_numbered_without_gaps_and_read_after_a_sequence(
    store: JobStore,
) -> None:
    job_id = await claimed_job(store)
    for state in (JobState.TRANSCRIBING, JobState.SUMMARIZING):
        await record_states(store, job_id, state)
    assert [e.seq for e in await store.events_after(job_id, 0)] == [1, 2, 3]
    assert [e.seq for e in await store.events_after(job_id, 1)] == [2, 3]


def a_note(engine: str = "e") -> Note:
    sections = (NoteSection(key="plan", title="Plan"),)
    return Note(template=Template.SOAP, language="en", engine=engine, sections=sections)


async def numbered(store: JobStore, job_id: str) -> list[tuple[int, int]]:
    """Each stored event's row number and the number inside its payload."""
    rows = await store.events_after(job_id, 0)
    return [(r.seq, pb.JobEvent.FromString(r.payload).sequence) for r in rows]


async def test_a_write_from_the_last_seen_sequence_stores_events_and_note_at_once(
    store: JobStore,
) -> None:
    job_id = await queued_job(store)
    claimed = await store.claim(job_id, "worker-a", lease_seconds=60)
    assert claimed is not None and claimed.event_seq == 1
    summarizing = await record_states(
        store, job_id, JobState.SUMMARIZING, state=JobState.SUMMARIZING, expected_seq=1
    )
    assert summarizing is not None and summarizing.seq == 2
    note = a_note()
    done = await store.record(
        job_id,
        "worker-a",
        [note_completed_event(note), state_event(JobState.COMPLETED)],
        lease_seconds=60,
        state=JobState.COMPLETED,
        note=note,
        expected_seq=2,
    )
    assert done is not None and done.seq == 4
    assert [pb.JobEvent.FromString(p).sequence for p in done.events] == [3, 4]
    assert await numbered(store, job_id) == [(1, 1), (2, 2), (3, 3), (4, 4)]
    summary = await store.summary(job_id)
    assert summary is not None and summary.engine == "e"
    row = await store.get(job_id)
    assert row is not None and row.state == JobState.COMPLETED.value
    assert row.lease_owner is None and row.event_seq == 4


async def test_a_write_from_a_stale_sequence_is_still_numbered_without_gaps(
    store: JobStore,
) -> None:
    job_id = await claimed_job(store)
    # Another event lands after the worker last looked (seq 2)...
    await record_states(store, job_id, JobState.TRANSCRIBING)
    # ...so a write that expects seq 1 is numbered after it, not over it.
    recorded = await record_states(store, job_id, JobState.SUMMARIZING, expected_seq=1)
    assert recorded is not None and recorded.seq == 3
    assert await numbered(store, job_id) == [(1, 1), (2, 2), (3, 3)]


async def test_a_write_from_the_last_seen_sequence_holds_only_with_the_lease(
    store: JobStore,
) -> None:
    job_id = await claimed_job(store, lease_seconds=-1)
    assert await store.claim(job_id, "worker-b", lease_seconds=60) is not None
    lost = await record_states(
        store, job_id, JobState.COMPLETED, state=JobState.COMPLETED, note=a_note(), expected_seq=1
    )
    assert lost is None
    assert await numbered(store, job_id) == [(1, 1)]
    assert await store.summary(job_id) is None


async def test_a_result_written_again_replaces_the_first(store: JobStore) -> None:
    job_id = await claimed_job(store)
    seq = 1
    for engine in ("first", "second"):
        segment = Segment(id=0, start=0.0, end=1.0, text="hi")
        transcript = Transcript((segment,), language="en", engine=engine)
        recorded = await record_states(
            store, job_id, JobState.TRANSCRIBING, transcript=transcript, expected_seq=seq
        )
        assert recorded is not None and recorded.seq == seq + 1
        seq = recorded.seq
    stored = await store.transcript(job_id)
    assert stored is not None and stored.engine == "second"
