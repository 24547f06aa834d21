"""A live upload is checked as it arrives (issue 13, part 2): its server decodes and hashes the
chunks while they come, refuses corrupt or too-long audio during the stream, and at ``finish``
stores the streamed figures without decoding the composed object; a stream resumed on the same
server goes on with that check (server/LIVE.md). Embedded and scaled, no workers."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from core.db.upload_store import segment_keys
from core.errors import NotFound
from core.settings import Settings
from tests.e2e.audio import wav_bytes
from tests.e2e.conftest import base_settings, scaled_settings
from tests.e2e.deployment import Deployment
from tests.e2e.live_client import LiveStream, live_config
from tests.e2e.rpc_errors import failure
from tests.e2e.test_bad_input import failed_upload
from tests.e2e.test_live_upload import CHUNK, missing, pieces
from tests.e2e.test_pipeline import upload, upload_requests
from tests.support.audio_formats import encode, sample_speech

#: The deployments' CONSULTA_MAX_AUDIO_SECONDS: the too-long test passes it mid-stream.
MAX_SECONDS = 10.0

STREAMED = "no decode at finish"


@pytest.fixture
async def settings(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if kind == "embedded":
        return base_settings(tmp_path, max_audio_seconds=MAX_SECONDS)
    return await scaled_settings(
        tmp_path, request.getfixturevalue("s3_endpoint"), max_audio_seconds=MAX_SECONDS
    )


def finish_logs(caplog: pytest.LogCaptureFixture, job_id: str) -> list[str]:
    """What core/live_finish.py said about how it checked ``job_id``'s audio at finish."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "core.live_finish" and job_id in r.getMessage()
    ]


def streaming_wav(data: bytes) -> bytes:
    """``data`` (a 44-byte-header WAV) as a recorder that streams writes it: RIFF and data
    sizes unknown (0xFFFFFFFF), so only the samples tell how long it is."""
    return data[:4] + b"\xff" * 4 + data[8:40] + b"\xff" * 4 + data[44:]


def figures(job: job_pb2.Job) -> tuple[int, str, float, list[tuple[int, str]]]:
    return (
        job.audio_size_bytes,
        job.audio_sha256,
        round(job.audio_duration_seconds, 6),
        [(w.reason, w.message) for w in job.warnings],
    )


async def send_live(deployment: Deployment, data: bytes, size: int) -> job_pb2.Job:
    stream = LiveStream(deployment)
    await stream.open(live_config())
    chunks = pieces(data, size)
    for index, chunk in enumerate(chunks):
        stream.chunk(chunk, finish=index == len(chunks) - 1)
    rest = await stream.until_end()
    assert rest[-1].HasField("job"), rest
    return rest[-1].job


@pytest.mark.parametrize(
    ("audio", "size"),
    [
        (lambda: wav_bytes(seconds=4), CHUNK),
        (lambda: streaming_wav(wav_bytes(seconds=4)), CHUNK),
        (lambda: encode(sample_speech(4), "ogg"), 4000),
    ],
    ids=["wav", "streaming-wav", "ogg-opus"],
)
async def test_finish_stores_the_streamed_figures_a_batch_upload_would(
    idle: Deployment, caplog: pytest.LogCaptureFixture, audio: object, size: int
) -> None:
    assert callable(audio)
    data: bytes = audio()
    caplog.set_level(logging.INFO, logger="core.live_finish")
    live = await send_live(idle, data, size)

    # The straight path: the figures come from the decode while the audio arrived.
    assert finish_logs(caplog, live.job_id) == [
        f"live upload {live.job_id}: figures from its streamed decode, {STREAMED}"
    ]
    batch, _ = await upload(idle, data)
    assert figures(live) == figures(batch)
    assert live.audio_size_bytes == len(data)
    assert live.audio_sha256 == hashlib.sha256(data).hexdigest()
    assert live.audio_duration_seconds == pytest.approx(4.0, abs=0.01)
    assert live.state == job_pb2.JOB_STATE_RECEIVING  # a live worker moves it on


async def test_a_stream_resumed_on_the_same_server_goes_on_with_its_check(
    idle: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.live_finish")
    data = wav_bytes(seconds=4)
    chunks = pieces(data)
    first = LiveStream(idle)
    _, job = await first.open(live_config())
    for chunk in chunks[:3]:
        first.chunk(chunk)
        await first.next_status()
    first.close()  # the client's connection drops; it resumes from the committed offset

    resumed = LiveStream(idle)
    status, _ = await resumed.open(pb.UploadConfig(resume_upload_id=job.job_id))
    assert status.committed_offset == 3 * CHUNK
    for index, chunk in enumerate(chunks[3:], start=3):
        resumed.chunk(chunk, finish=index == len(chunks) - 1)
    done = (await resumed.until_end())[-1].job

    # The server kept the dropped stream's check and the resumed stream went on with it.
    # (Resumed on another server, or finished by the sweeper, the composed object is decoded
    # instead: tests/e2e/test_live_upload.py.)
    assert finish_logs(caplog, job.job_id) == [
        f"live upload {job.job_id}: figures from its streamed decode, {STREAMED}"
    ]
    batch, _ = await upload(idle, data)
    assert figures(done) == figures(batch)
    assert done.audio_sha256 == hashlib.sha256(data).hexdigest()


def garbled_mp3() -> bytes:
    """2 s of MP3, bytes no MP3 decoder accepts, 4 s more: the decoder fails on the middle."""
    garbage = b"\x00" * 200 + bytes(range(256)) * 8
    return encode(sample_speech(2), "mp3") + garbage + encode(sample_speech(4), "mp3")


@pytest.mark.parametrize(
    ("audio", "size", "code", "reason"),
    [
        (garbled_mp3, 1000, grpc.StatusCode.INVALID_ARGUMENT, "CORRUPT_AUDIO"),
        # 15 s when 10 s is the limit, and no header that says so: the samples tell.
        (
            lambda: streaming_wav(wav_bytes(seconds=15)),
            CHUNK,
            grpc.StatusCode.OUT_OF_RANGE,
            "AUDIO_TOO_LONG",
        ),
    ],
    ids=["corrupt", "too-long"],
)
async def test_bad_audio_is_refused_while_it_streams_and_leaves_nothing(
    idle: Deployment,
    caplog: pytest.LogCaptureFixture,
    audio: object,
    size: int,
    code: grpc.StatusCode,
    reason: str,
) -> None:
    assert callable(audio)
    data: bytes = audio()
    caplog.set_level(logging.INFO, logger="core.live_finish")
    stub, auth = idle.stub(), idle.auth()
    runtime = idle.server.runtime
    stream = LiveStream(idle)
    _, job = await stream.open(live_config())
    keys: set[str] = set()
    acknowledged = 0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        for chunk in pieces(data, size):  # `finish` is never sent
            stream.chunk(chunk)
            acknowledged = (await stream.next_status()).committed_offset
            row = await runtime.uploads.get(job.job_id)
            if row is not None:
                keys.update(key for key, _ in segment_keys(row))
        await stream.until_end()
    result = failure(caught.value)
    assert (result.code, result.reason) == (code, reason)
    # Refused while the audio was still arriving, well before its end.
    assert 0 < acknowledged < len(data) - 2 * size

    got = (await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth)).job
    assert got.state == job_pb2.JOB_STATE_FAILED
    assert got.error.message == result.message
    assert await runtime.uploads.get(job.job_id) is None
    assert keys and await missing(runtime, sorted(keys))
    with pytest.raises(NotFound):
        await runtime.blobs.size(f"audio/{job.job_id}")
    assert finish_logs(caplog, job.job_id) == []  # never reached finish

    # The status and reason a batch upload of the same bytes gets (and today's at finish).
    batch = await failed_upload(idle, upload_requests(data, pb.UploadConfig()))
    assert (batch.code, batch.reason) == (code, reason)
