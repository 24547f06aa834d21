"""Live uploads (UploadConfig.live) in the client tests' fake service.

As the contract says: the job exists from the first message (its id is the upload's), the
stream answers status then the job in RECEIVING, commits every chunk at once, and carries the
job's events as they are made. The fake "hears" one word per chunk of audio: each chunk adds
an interim with the utterance so far, and every ``live_words_per_segment`` words settle into a
final segment. After `finish` the tail is settled, the stream ends with the job in
TRANSCRIBING, and the rest (the note) waits in the job's events for WatchJob.

A resumed live stream replays every event from the first (``live_replay_on_resume``), the
least helpful thing a server may do, so that the client must drop the repeats.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from google.protobuf import timestamp_pb2

from tests.clients.fake_data import (
    NOTE_TEXT,
    Context,
    StoredJob,
    Upload,
    error_info,
    rich_status,
    summary_for,
)

WORDS = ("I", "have", "had", "a", "dry", "cough", "for", "three", "days", "and", "it", "hurts")


@dataclass
class LiveScript:
    """What the fake worker heard of one live job so far."""

    words: list[str] = field(default_factory=list)  # the utterance being spoken
    start: float = 0.0  # where it started, in seconds of audio
    heard: int = 0  # words heard in all
    segments: list[job_pb2.TranscriptSegment] = field(default_factory=list)


class LiveFake(Protocol):
    """What the live path reads and changes of FakeConsulta (tests/clients/fake_consulta.py),
    named here so that this module does not import the one that imports it."""

    uploads: dict[str, Upload]
    jobs: dict[str, StoredJob]
    break_upload_points: list[int]
    fail_jobs: bool
    chunk_sizes: list[int]
    live_scripts: dict[str, LiveScript]
    live_words_per_segment: int
    live_bytes_per_second: float
    live_replay_on_resume: bool
    live_unsent_chunks: set[int]
    live_chunks: list[tuple[int, int, bool]]


def now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def add_event(stored: StoredJob, **payload: Any) -> pb.UploadAudioResponse:
    event = pb.JobEvent(sequence=len(stored.events) + 1, create_time=now(), **payload)
    stored.events.append(event)
    return pb.UploadAudioResponse(event=event)


def open_live_job(fake: LiveFake, upload: Upload) -> StoredJob:
    job = job_pb2.Job(
        name=f"jobs/{upload.upload_id}",
        job_id=upload.upload_id,
        state=job_pb2.JOB_STATE_RECEIVING,
        config=upload.config.job,
        create_time=now(),
        update_time=now(),
        language_code=upload.config.job.language_code or "en",
        filename=upload.config.filename,
    )
    stored = StoredJob(job=job, owner=upload.owner)
    fake.jobs[job.job_id] = stored
    fake.live_scripts[job.job_id] = LiveScript()
    upload.job_id = job.job_id
    add_event(stored, state_changed=pb.StateChanged(state=job_pb2.JOB_STATE_RECEIVING))
    return stored


def hear(fake: LiveFake, stored: StoredJob, seconds: float) -> list[pb.UploadAudioResponse]:
    """The events one more chunk of audio (ending at ``seconds``) makes: an interim, and a
    final segment when the utterance has enough words."""
    script = fake.live_scripts[stored.job.job_id]
    script.words.append(WORDS[script.heard % len(WORDS)])
    script.heard += 1
    text = " ".join(script.words)
    events = [
        add_event(
            stored,
            interim=pb.InterimTranscript(
                text=text,
                start_seconds=script.start,
                end_seconds=seconds,
                stability=0.5,
                next_segment_id=len(script.segments),
            ),
        )
    ]
    if len(script.words) >= fake.live_words_per_segment:
        events.append(settle(stored, script, seconds))
    return events


def settle(stored: StoredJob, script: LiveScript, seconds: float) -> pb.UploadAudioResponse:
    roles = (job_pb2.SPEAKER_ROLE_CLINICIAN, job_pb2.SPEAKER_ROLE_PATIENT)
    segment = job_pb2.TranscriptSegment(
        segment_id=len(script.segments),
        start_seconds=script.start,
        end_seconds=seconds,
        speaker=roles[len(script.segments) % 2],
        text=" ".join(script.words) + ".",
    )
    script.segments.append(segment)
    script.words.clear()
    script.start = seconds
    return add_event(stored, segment=segment)


def finish_live_job(fake: LiveFake, stored: StoredJob, seconds: float) -> job_pb2.Job:
    """Settle the tail, queue the note's events for WatchJob; the job the stream ends with."""
    script = fake.live_scripts[stored.job.job_id]
    add_event(stored, state_changed=pb.StateChanged(state=job_pb2.JOB_STATE_TRANSCRIBING))
    if script.words:
        settle(stored, script, seconds)
    job = job_pb2.Job()
    job.CopyFrom(stored.job)
    job.state = job_pb2.JOB_STATE_TRANSCRIBING
    job.audio_duration_seconds = seconds
    job.last_event_sequence = len(stored.events)
    stored.transcript = job_pb2.Transcript(
        segments=script.segments, language_code="en", engine="fake"
    )
    if fake.fail_jobs:
        reason = "The audio could not be decoded."
        add_event(
            stored, state_changed=pb.StateChanged(state=job_pb2.JOB_STATE_FAILED, reason=reason)
        )
        return job
    summary = summary_for(stored.job.config.template, stored.job.config.language_code)
    add_event(stored, state_changed=pb.StateChanged(state=job_pb2.JOB_STATE_SUMMARIZING))
    add_event(stored, note_delta=pb.NoteDelta(section_key="subjective", text=NOTE_TEXT))
    add_event(stored, note_completed=summary)
    add_event(stored, state_changed=pb.StateChanged(state=job_pb2.JOB_STATE_COMPLETED))
    stored.summary = summary
    return job


async def live_upload(
    fake: LiveFake,
    upload: Upload | None,
    first: pb.UploadConfig,
    subject: str,
    requests: AsyncIterator[pb.UploadAudioRequest],
    context: Context,
) -> AsyncIterator[pb.UploadAudioResponse]:
    """One live upload stream, new (``upload`` None) or resumed."""
    if upload is None:
        upload = Upload(str(uuid.uuid4()), first, subject)
        fake.uploads[upload.upload_id] = upload
        stored = open_live_job(fake, upload)
        replay = list(stored.events)  # the job entered RECEIVING
    else:
        stored = fake.jobs[upload.job_id]
        replay = list(stored.events) if fake.live_replay_on_resume else []
    status = pb.UploadStatus(upload_id=upload.upload_id, committed_offset=len(upload.data))
    yield pb.UploadAudioResponse(status=status)
    opening = job_pb2.Job()
    opening.CopyFrom(stored.job)
    yield pb.UploadAudioResponse(job=opening)
    for event in replay:
        yield pb.UploadAudioResponse(event=event)
    async for request in requests:
        chunk = request.chunk
        if chunk.offset != len(upload.data):
            message = f"The chunk starts at byte {chunk.offset}; expected {len(upload.data)}."
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                message,
                rich_status(
                    grpc.StatusCode.INVALID_ARGUMENT, message, [error_info("OFFSET_MISMATCH")]
                ),
            )
        fake.chunk_sizes.append(len(chunk.data))
        fake.live_chunks.append((chunk.offset, len(chunk.data), chunk.finish))
        upload.data.extend(chunk.data)  # every live chunk is durable before it is answered
        status = pb.UploadStatus(upload_id=upload.upload_id, committed_offset=len(upload.data))
        yield pb.UploadAudioResponse(status=status)
        seconds = len(upload.data) / fake.live_bytes_per_second
        if chunk.data:
            heard = hear(fake, stored, seconds)
            if len(fake.live_chunks) not in fake.live_unsent_chunks:
                for response in heard:
                    yield response
        if fake.break_upload_points and len(upload.data) >= fake.break_upload_points[0]:
            fake.break_upload_points.pop(0)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "fake: server went away")
        if chunk.finish:
            upload.finished = True
            yield pb.UploadAudioResponse(job=finish_live_job(fake, stored, seconds))
            return
