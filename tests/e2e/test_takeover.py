"""A job taken over while its note is being written: watchers see SUMMARIZING once and each
piece of note text once (``consulta transcribe --follow`` prints deltas as they come)."""

from __future__ import annotations

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from core.codec import note_delta_event, state_event, transcript_row_to_domain
from core.domain import JobState, Template
from tests.e2e.deployment import Deployment, run_to_end
from tests.e2e.hand_worker import HandWorker, queued_job
from tests.support import eventually
from workers.engines.base import NoteDelta, NoteRequest
from workers.engines.registry import Engines


def joined(deltas: list[tuple[str, str]]) -> dict[str, str]:
    text: dict[str, str] = {}
    for key, piece in deltas:
        text[key] = text.get(key, "") + piece
    return text


async def test_a_note_taken_over_midway_is_not_sent_twice(idle: Deployment) -> None:
    job = await queued_job(idle)
    store = idle.server.runtime.store
    row, stored = await store.get(job.job_id), await store.transcript(job.job_id)
    assert row is not None and stored is not None
    transcript = transcript_row_to_domain(stored)
    # What the local note engine writes for this job, delta by delta (it is deterministic).
    summarizer = Engines(idle.settings).summarizer(row.summarizer)
    request = NoteRequest(
        template=Template(row.template), language=row.language or transcript.language
    )
    expected = [
        (u.section_key, u.text)
        async for u in summarizer.summarize(transcript, request)
        if isinstance(u, NoteDelta)
    ]
    assert len(expected) >= 4

    # A worker gets halfway through the note, then dies (its short lease runs out).
    victim = HandWorker(idle.server.runtime, job.job_id, name="victim")
    await victim.claim(lease_seconds=1)
    await victim.emit(
        [state_event(JobState.SUMMARIZING)], state=JobState.SUMMARIZING, lease_seconds=1
    )
    half = len(expected) // 2
    await victim.emit([note_delta_event(k, t) for k, t in expected[:half]], lease_seconds=1)
    await idle.add_worker()  # its sweeper hands the job on once the lease expires

    stub, auth = idle.stub(), idle.auth()

    async def completed() -> bool:
        got = await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth)
        return got.job.state == job_pb2.JOB_STATE_COMPLETED

    await eventually(completed, within=60, interval=0.2, what="the rescuer finishing the job")
    everything = await run_to_end(stub, job.job_id, auth)
    events = [m.event for m in everything[1:]]
    states = [e.state_changed.state for e in events if e.HasField("state_changed")]
    assert states.count(job_pb2.JOB_STATE_SUMMARIZING) == 1
    deltas = [e.note_delta for e in events if e.HasField("note_delta")]
    sent = [(d.section_key, d.text) for d in deltas]
    assert joined(sent) == joined(expected)
    assert [e.HasField("note_completed") for e in events].count(True) == 1
