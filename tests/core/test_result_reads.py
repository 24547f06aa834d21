"""GetTranscript's and GetSummary's read as one statement (core/db/result_reads.py), with and
without the job cache, on SQLite and PostgreSQL: the bytes equal what the old path made from
the stored rows (``transcript``/``summary`` and the codec); another caller's job is NOT_FOUND
even once cached; a job without its result yet is FAILED_PRECONDITION; an erased job's result,
and a result written again, are seen by the very next read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from consulta.v1 import job_pb2

from core.auth import Principal
from core.codec import (
    note_to_pb,
    summary_row_to_domain,
    summary_wire,
    transcript_row_to_domain,
    transcript_to_pb,
    transcript_wire,
)
from core.db.job_cache import JobCache
from core.db.result_reads import Convert, Kind
from core.db.store import JobStore
from core.domain import (
    JobState,
    Note,
    NoteSection,
    NoteSentence,
    Segment,
    Speaker,
    Template,
    TermCorrection,
    Transcript,
)
from core.errors import FailedPrecondition, NotFound
from tests.support.jobs import (
    ALICE,
    ALICE_ELSEWHERE,
    BOB,
    SERVICE_A,
    SERVICE_B,
    WORKER,
    claimed_job,
    job_store,
    record_states,
)

HOUR = 3600.0
CONVERT: dict[Kind, Convert] = {"transcript": transcript_wire, "summary": summary_wire}


@pytest.fixture(params=["sqlite", "postgres", "sqlite-cached"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    cache = JobCache(100, HOUR) if request.param.endswith("cached") else None
    async with job_store(tmp_path, request.param.split("-")[0], cache) as jobs:
        yield jobs


def transcript(words: str = "I have a cough.") -> Transcript:
    return Transcript(
        (
            Segment(0, 0.0, 1.5, "Hello, what brings you in?", Speaker.CLINICIAN),
            Segment(1, 1.5, 3.25, words, Speaker.PATIENT),
        ),
        language="en",
        engine="local",
    )


def note(text: str = "Cough for three days.") -> Note:
    sentence = NoteSentence(text, (1,), (TermCorrection("cof", "cough", "glossary"),))
    return Note(
        template=Template.SOAP,
        language="en",
        sections=(NoteSection("subjective", "Subjective", (sentence,)),),
        engine="local",
    )


async def finished_job(store: JobStore, words: str = "I have a cough.") -> str:
    job_id = await claimed_job(store)
    await record_states(
        store,
        job_id,
        JobState.COMPLETED,
        state=JobState.COMPLETED,
        transcript=transcript(words),
        note=note(),
    )
    return job_id


async def old_transcript(store: JobStore, job_id: str) -> job_pb2.Transcript:
    row = await store.transcript(job_id)
    assert row is not None
    return transcript_to_pb(transcript_row_to_domain(row))


async def old_summary(store: JobStore, job_id: str) -> job_pb2.Summary:
    row = await store.summary(job_id)
    assert row is not None
    return note_to_pb(summary_row_to_domain(row))


async def read_transcript(store: JobStore, job_id: str, principal: Principal) -> job_pb2.Transcript:
    wire = await store.visible_result("transcript", job_id, principal, transcript_wire)
    return job_pb2.Transcript.FromString(wire)


def cached(store: JobStore, kind: Kind, job_id: str) -> bool:
    """Whether the read just made is kept (always, with a cache): the next comes from it."""
    return store.cache is None or store.cache.get_result(kind, job_id) is not None


async def test_the_bytes_equal_the_old_paths_message(store: JobStore) -> None:
    job_id = await finished_job(store)
    for _ in range(2):  # the second from the cache where there is one
        got = await read_transcript(store, job_id, ALICE)
        assert got == await old_transcript(store, job_id) and len(got.segments) == 2
        wire = await store.visible_result("summary", job_id, SERVICE_A, summary_wire)
        assert job_pb2.Summary.FromString(wire) == await old_summary(store, job_id)
        assert job_pb2.Summary.FromString(wire).sections[0].sentences[0].corrections


@pytest.mark.parametrize("kind", ["transcript", "summary"])
async def test_another_callers_job_stays_not_found(store: JobStore, kind: Kind) -> None:
    job_id = await finished_job(store)
    await store.visible_result(kind, job_id, ALICE, CONVERT[kind])
    assert cached(store, kind, job_id)
    for other in (BOB, ALICE_ELSEWHERE, SERVICE_B):
        with pytest.raises(NotFound):
            await store.visible_result(kind, job_id, other, CONVERT[kind])
    with pytest.raises(NotFound):
        await store.visible_result(kind, "no-such-job", ALICE, CONVERT[kind])
    assert await store.visible_result(kind, job_id, SERVICE_A, CONVERT[kind])


@pytest.mark.parametrize("kind", ["transcript", "summary"])
async def test_a_job_without_its_result_is_not_ready(store: JobStore, kind: Kind) -> None:
    job_id = await claimed_job(store)
    with pytest.raises(FailedPrecondition) as caught:
        await store.visible_result(kind, job_id, ALICE, CONVERT[kind])
    assert caught.value.reason == f"{kind.upper()}_NOT_READY"
    with pytest.raises(NotFound):
        await store.visible_result(kind, job_id, BOB, CONVERT[kind])


@pytest.mark.parametrize("kind", ["transcript", "summary"])
async def test_an_erased_jobs_result_is_gone_at_once(store: JobStore, kind: Kind) -> None:
    job_id = await finished_job(store)
    assert await store.visible_result(kind, job_id, ALICE, CONVERT[kind])
    assert cached(store, kind, job_id)
    assert await store.erase(job_id)
    with pytest.raises(NotFound):
        await store.visible_result(kind, job_id, ALICE, CONVERT[kind])


async def test_a_result_written_again_is_read_at_once(store: JobStore) -> None:
    job_id = await claimed_job(store)
    await record_states(store, job_id, JobState.TRANSCRIBING, transcript=transcript())
    assert (await read_transcript(store, job_id, ALICE)).segments[1].text == "I have a cough."
    assert cached(store, "transcript", job_id)
    # A worker that took the job over writes its transcript again.
    await record_states(store, job_id, worker_id=WORKER, transcript=transcript("Just a cold."))
    assert (await read_transcript(store, job_id, ALICE)).segments[1].text == "Just a cold."
