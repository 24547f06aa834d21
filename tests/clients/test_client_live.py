"""Live uploads through the client against the fake service: the job at once, events while
the audio is sent, a chunk a second of audio, each event once across a resumed stream, and
WatchJob after the upload to the note."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from clients.client import ConsultaClient
from clients.live import SequenceTracker
from clients.retry import RetryPolicy
from tests.clients.fake_consulta import NOTE_TEXT, FakeConsulta
from tests.clients.fake_server_thread import ServerThread
from tests.clients.recordings import write_wav

NO_WAIT = RetryPolicy(attempts=3, initial_backoff=0.0, max_backoff=0.0)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "visit.wav", 8.0)


async def run_live(
    server: ServerThread, token: str, path: Path
) -> tuple[list[pb.UploadAudioResponse], list[pb.WatchJobResponse]]:
    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        live = await client.upload_live(path, job_pb2.JobConfig(language_code="en"), speed=200)
        sent = [message async for message in live.upload()]
        followed = [message async for message in live.follow()]
    return sent, followed


def sequences(messages: list[pb.UploadAudioResponse] | list[pb.WatchJobResponse]) -> list[int]:
    return [m.event.sequence for m in messages if m.HasField("event")]


async def test_a_live_upload_yields_the_job_then_events_then_follows_to_the_note(
    server: ServerThread, fake: FakeConsulta, token: str, recording: Path
) -> None:
    sent, followed = await run_live(server, token, recording)

    (upload,) = fake.uploads.values()
    data = await asyncio.to_thread(recording.read_bytes)
    assert bytes(upload.data) == data
    assert upload.config.live
    # Nothing declared: a live upload may be stopped before the file's end.
    assert upload.config.declared_size_bytes == 0 and upload.config.sha256 == ""
    assert upload.config.filename == "visit.wav"
    # A chunk per second of audio: the byte rate is the file's size over its duration.
    per_second = math.ceil(len(data) / 8)  # eight equal chunks, the last a little short
    assert [size for _, size, _ in fake.live_chunks[:-1]] == [per_second] * 7
    assert [offset for offset, _, _ in fake.live_chunks] == list(range(0, len(data), per_second))
    assert fake.live_chunks[-1][2] is True
    # The job first (RECEIVING), events as they came, the job again last.
    assert sent[0].job.state == job_pb2.JOB_STATE_RECEIVING
    assert sent[0].job.job_id == upload.upload_id
    assert sent[-1].HasField("job") and sent[-1].job.state == job_pb2.JOB_STATE_TRANSCRIBING
    kinds = [m.event.WhichOneof("payload") for m in sent if m.HasField("event")]
    assert kinds[0] == "state_changed" and "interim" in kinds and "segment" in kinds
    # WatchJob takes over after the last event seen: no gap, no repeat, to the note.
    assert followed[0].HasField("snapshot")
    everything = sequences(sent) + sequences(followed)
    assert everything == list(range(1, len(fake.jobs[upload.job_id].events) + 1))
    assert fake.watch_requests[0].after_sequence == sequences(sent)[-1]
    assert followed[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED
    notes = [m.event.note_delta.text for m in followed if m.event.HasField("note_delta")]
    assert "".join(notes) == NOTE_TEXT


async def test_a_live_upload_resumes_after_unavailable_without_losing_or_repeating(
    server: ServerThread, fake: FakeConsulta, token: str, recording: Path
) -> None:
    data = await asyncio.to_thread(recording.read_bytes)
    per_second = math.ceil(len(data) / 8)  # eight equal chunks, the last a little short
    # The server goes away twice, after the 3rd and the 6th second of audio.
    fake.break_upload_points = [3 * per_second, 6 * per_second]
    sent, followed = await run_live(server, token, recording)

    (upload,) = fake.uploads.values()
    assert bytes(upload.data) == data
    assert fake.upload_streams == 3
    # Each stream went on from the committed offset: every byte was received once.
    offsets = [offset for offset, _, _ in fake.live_chunks]
    assert offsets == sorted(set(offsets))
    # The fake replays every earlier event on a resumed stream; each is delivered once.
    everything = sequences(sent) + sequences(followed)
    assert everything == list(range(1, len(fake.jobs[upload.job_id].events) + 1))
    assert [m.job.state for m in sent if m.HasField("job")] == [
        job_pb2.JOB_STATE_RECEIVING,
        job_pb2.JOB_STATE_TRANSCRIBING,
    ]
    segments = [m.event.segment.segment_id for m in sent if m.event.HasField("segment")]
    assert segments == list(range(len(segments)))


async def test_a_live_upload_of_a_byte_stream_sends_each_piece_as_it_comes(
    server: ServerThread, fake: FakeConsulta, token: str
) -> None:
    pieces = [bytes([n]) * 6400 for n in range(5)]

    async def microphone() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    async with ConsultaClient(server.target, token=token, retry=NO_WAIT) as client:
        live = await client.upload_live(microphone())
        sent = [message async for message in live.upload()]

    (upload,) = fake.uploads.values()
    assert bytes(upload.data) == b"".join(pieces)
    assert fake.live_chunks == [(i * 6400, 6400, False) for i in range(5)] + [(32000, 0, True)]
    assert sent[-1].job.state == job_pb2.JOB_STATE_TRANSCRIBING


async def test_events_the_upload_stream_missed_come_with_the_follow_up_watch(
    server: ServerThread, fake: FakeConsulta, token: str, recording: Path
) -> None:
    # The events of the 2nd and 3rd chunks (an interim, then an interim and a segment) are
    # published but never reach the upload stream, and no stream replays them.
    fake.live_unsent_chunks = {2, 3}
    fake.live_replay_on_resume = False
    sent, followed = await run_live(server, token, recording)

    (stored,) = fake.jobs.values()
    assert stored.transcript is not None
    delivered = sequences(sent) + sequences(followed)
    assert sorted(delivered) == list(range(1, len(stored.events) + 1))  # each exactly once
    # WatchJob starts below the gap and skips what the upload stream already delivered.
    assert fake.watch_requests[0].after_sequence == 2
    missed = {e.sequence for e in stored.events} - set(sequences(sent))
    assert set(sequences(followed)) >= missed
    segments = [m.event.segment.segment_id for m in sent + followed if m.event.HasField("segment")]
    assert sorted(segments) == list(range(len(stored.transcript.segments)))


def test_the_tracker_keeps_a_watermark_below_which_every_sequence_was_seen() -> None:
    seen = SequenceTracker()
    assert [seen.add(s) for s in (1, 2, 5, 2, 6, 3)] == [True, True, True, False, True, True]
    assert seen.watermark == 3 and seen.highest == 6
    assert seen.add(4) and seen.watermark == 6 and not seen.add(5)
