"""Live uploads at the server level (issue 13, parts 1, 2 and 4), on the embedded default and
scaled out (PostgreSQL, RabbitMQ, SeaweedFS): the job from the first message, a durable
commit per chunk, the job's events on the stream, the audio composed at ``finish``, resume on
another server, idle abandonment, delete during receive and bad first bytes.

Workers do not transcribe live yet: what is asserted is what the server owns (rows, objects,
forwarded events, states)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import socket
import subprocess
from pathlib import Path

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from core.db.upload_store import segment_keys
from core.errors import NotFound
from core.live_audio import LiveAudioReader
from core.runtime import Runtime
from core.settings import Settings
from tests.e2e.audio import wav_bytes
from tests.e2e.conftest import SCALED
from tests.e2e.deployment import Deployment, run_to_end, start_deployment
from tests.e2e.live_client import LiveStream, live_config
from tests.e2e.rpc_errors import failure
from tests.support import eventually

#: Half a second of the test WAV (16 kHz, 16-bit mono): a live client's chunk.
CHUNK = 16000


def pieces(data: bytes, size: int = CHUNK) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def missing(runtime: Runtime, keys: list[str]) -> bool:
    for key in keys:
        try:
            await runtime.blobs.size(key)
            return False
        except NotFound:
            continue
    return True


async def test_live_upload_commits_each_chunk_and_the_job_exists_from_the_first_message(
    deployment: Deployment,
) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    runtime = deployment.server.runtime
    data = wav_bytes(seconds=4)
    stream = LiveStream(deployment)
    status, job = await stream.open(live_config())
    job_id = job.job_id

    assert status.upload_id == job_id and status.committed_offset == 0
    assert job.state == job_pb2.JOB_STATE_RECEIVING
    got = await stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=auth)
    assert got.job.state == job_pb2.JOB_STATE_RECEIVING
    listed = await stub.ListJobs(
        pb.ListJobsRequest(states=[job_pb2.JOB_STATE_RECEIVING]), metadata=auth
    )
    assert [j.job_id for j in listed.jobs] == [job_id]
    watch = stub.WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=auth, timeout=30)
    first: pb.WatchJobResponse = await watch.read()  # type: ignore[assignment]
    assert first.snapshot.state == job_pb2.JOB_STATE_RECEIVING
    watch.cancel()

    reader = LiveAudioReader(runtime, job_id)
    chunks = pieces(data)
    for chunk in chunks[:-1]:
        stream.chunk(chunk)
        status = await stream.next_status()
        assert status.committed_offset == stream.sent  # acknowledged chunk by chunk
    # What the server acknowledged is what a worker reads, before the upload ends.
    assert await reader.read(0) == (data[: stream.sent], False)
    assert await reader.read(CHUNK + 5, 100) == (data[CHUNK + 5 : CHUNK + 105], False)
    row = await runtime.uploads.get(job_id)
    assert row is not None
    segments = [key for key, _ in segment_keys(row)]
    assert len(segments) == len(chunks) - 1

    stream.chunk(chunks[-1], finish=True)
    rest = await stream.until_end()
    final = [r.status.committed_offset for r in rest if r.HasField("status")]
    assert final[-1] == len(data)
    assert rest[-1].HasField("job")
    done = rest[-1].job
    assert done.job_id == job_id
    assert done.audio_size_bytes == len(data)
    assert done.audio_sha256 == hashlib.sha256(data).hexdigest()
    assert done.audio_duration_seconds == pytest.approx(4.0, abs=0.05)

    # The stream carried the job's events, in order, once each, from its first.
    sequences = [e.sequence for e in stream.events]
    assert sequences == list(range(1, len(sequences) + 1))
    assert stream.events[0].state_changed.state == job_pb2.JOB_STATE_RECEIVING

    # Composed, the segments gone, and the reader reads the composed object.
    assert await reader.read(0) == (data, True)
    assert await missing(runtime, segments)
    upload = await stub.GetUploadStatus(pb.GetUploadStatusRequest(upload_id=job_id), metadata=auth)
    assert (upload.complete, upload.job_id, upload.committed_offset) == (True, job_id, len(data))

    # A worker takes the job from here (this branch's transcribes the whole recording).
    events = await run_to_end(stub, job_id, auth)
    assert events[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED


async def test_the_reader_survives_the_compose_at_finish(deployment: Deployment) -> None:
    from core.live_finish import finish_live_upload

    runtime = deployment.server.runtime
    data = wav_bytes(seconds=6)
    stream = LiveStream(deployment)
    _, job = await stream.open(live_config())
    for chunk in pieces(data, 4000):
        stream.chunk(chunk)
        await stream.next_status()
    stream.close()  # the client goes; the test finishes the upload by hand, racing reads

    reader = LiveAudioReader(runtime, job.job_id)
    claimed = await runtime.uploads.claim_finish(job.job_id, len(data))
    assert claimed is not None
    finishing = asyncio.create_task(finish_live_upload(runtime, claimed, abandoned=False))
    reads = 0
    while True:
        got, finished = await reader.read(0, len(data))
        assert got == data  # every byte committed, whether from segments or composed
        # Finished only once the job has its audio, so a worker never moves the job on
        # while the finisher still expects it RECEIVING.
        assert not finished or await reader_sees_job_audio(runtime, job.job_id)
        reads += 1
        if finishing.done():
            break
        await asyncio.sleep(0)
    await finishing
    assert await reader.read(len(data) - 10) == (data[-10:], True)
    assert reads >= 1


async def test_a_live_recording_past_five_mib_is_composed_whole(deployment: Deployment) -> None:
    # On S3 the composed object takes more than one multipart part (5 MiB minimum each).
    data = wav_bytes(min_bytes=6 << 20)
    stream = LiveStream(deployment)
    _, job = await stream.open(live_config())
    chunks = pieces(data, 512 << 10)
    for index, chunk in enumerate(chunks):
        stream.chunk(chunk, finish=index == len(chunks) - 1)
    done = (await stream.until_end())[-1].job
    assert done.audio_size_bytes == len(data) > 5 << 20
    assert done.audio_sha256 == hashlib.sha256(data).hexdigest()
    reader = LiveAudioReader(deployment.server.runtime, job.job_id)
    middle = (5 << 20) - 100
    assert await reader.read(middle, 200) == (data[middle : middle + 200], True)


@pytest.mark.parametrize("kind", [SCALED])
async def test_a_live_upload_resumes_on_another_server(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.live_finish")
    deployment = await start_deployment("scaled", settings, servers=2)
    try:
        data = wav_bytes(seconds=4)
        chunks = pieces(data)
        stream = LiveStream(deployment, server=0)
        _, job = await stream.open(live_config())
        for chunk in chunks[:3]:
            stream.chunk(chunk)
            await stream.next_status()
        victim = deployment.servers.pop(0)
        await victim.stop(0)  # killed mid-stream
        await stream.error()

        auth = deployment.auth()
        stub = deployment.stub(0)  # the other server
        state = await stub.GetUploadStatus(
            pb.GetUploadStatusRequest(upload_id=job.job_id), metadata=auth
        )
        assert state.committed_offset == 3 * CHUNK and not state.complete
        resumed = LiveStream(deployment, server=0)
        status, again = await resumed.open(pb.UploadConfig(resume_upload_id=job.job_id))
        assert status.committed_offset == 3 * CHUNK
        assert again.job_id == job.job_id and again.state == job_pb2.JOB_STATE_RECEIVING
        for index, chunk in enumerate(chunks[3:], start=3):
            resumed.chunk(chunk, finish=index == len(chunks) - 1)
        rest = await resumed.until_end()
        done = rest[-1].job
        assert done.job_id == job.job_id
        assert done.audio_sha256 == hashlib.sha256(data).hexdigest()
        assert done.audio_duration_seconds == pytest.approx(4.0, abs=0.01)
        # The second server never saw the first bytes: it decoded the composed audio.
        said = [r.getMessage() for r in caplog.records if r.name == "core.live_finish"]
        assert said == [f"live upload {job.job_id}: the composed audio is decoded at finish"]
        reader = LiveAudioReader(deployment.server.runtime, job.job_id)
        assert await reader.read(0) == (data, True)
    finally:
        await deployment.stop()


async def _start_idle(kind: str, settings: Settings) -> Deployment:
    # Idle after 5 s: short for a test, long enough that a loaded machine's slow commit is
    # not taken for a client that went away.
    quick = settings.model_copy(update={"live_idle_seconds": 5.0, "sweep_interval_seconds": 0.3})
    return await start_deployment(kind, quick)


async def test_an_abandoned_live_upload_is_finished_with_a_warning(
    kind: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.live_finish")
    deployment = await _start_idle(kind, settings)
    try:
        stub, auth = deployment.stub(), deployment.auth()
        data = wav_bytes(seconds=3)
        stream = LiveStream(deployment)
        _, job = await stream.open(live_config())
        for chunk in pieces(data)[:4]:
            stream.chunk(chunk)
            await stream.next_status()
        stream.close()  # the client disappears without `finish`
        empty = LiveStream(deployment)
        _, nothing = await empty.open(live_config())
        empty.close()

        async def finished() -> job_pb2.Job | None:
            got = (await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth)).job
            return got if got.audio_size_bytes else None

        kept = await eventually(finished, within=30, what="the abandoned upload finished")
        assert kept is not None
        assert kept.audio_size_bytes == 4 * CHUNK
        (warning,) = [
            w for w in kept.warnings if w.reason == job_pb2.JOB_WARNING_REASON_LIVE_UPLOAD_ABANDONED
        ]
        assert warning.seconds_kept == pytest.approx(4 * CHUNK / 32000, abs=0.05)
        # The sweeper has no streamed figures: it decodes the composed audio.
        said = [r.getMessage() for r in caplog.records if r.name == "core.live_finish"]
        assert f"live upload {job.job_id}: the composed audio is decoded at finish" in said
        events = await run_to_end(stub, job.job_id, auth)
        assert events[-1].event.state_changed.state in (
            job_pb2.JOB_STATE_COMPLETED,
            job_pb2.JOB_STATE_FAILED,  # NO_SPEECH is the worker's call, not the server's
        )

        async def failed() -> job_pb2.Job | None:
            got = (await stub.GetJob(pb.GetJobRequest(job_id=nothing.job_id), metadata=auth)).job
            return got if got.state == job_pb2.JOB_STATE_FAILED else None

        gone = await eventually(failed, within=30, what="the empty live upload failed")
        assert gone is not None
        assert "before any audio arrived" in gone.error.message
        assert await deployment.server.runtime.uploads.get(nothing.job_id) is None
    finally:
        await deployment.stop()


@pytest.mark.parametrize("action", ["delete", "cancel"])
async def test_deleting_or_cancelling_a_receiving_job_ends_its_stream_and_erases_the_audio(
    deployment: Deployment, action: str
) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    runtime = deployment.server.runtime
    stream = LiveStream(deployment)
    _, job = await stream.open(live_config())
    for chunk in pieces(wav_bytes(seconds=2))[:3]:
        stream.chunk(chunk)
        await stream.next_status()
    row = await runtime.uploads.get(job.job_id)
    assert row is not None
    segments = [key for key, _ in segment_keys(row)]
    assert len(segments) == 3

    if action == "delete":
        await stub.DeleteJob(pb.DeleteJobRequest(job_id=job.job_id), metadata=auth)
    else:
        await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id), metadata=auth)
    result = failure(await stream.error())
    assert (result.code, result.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "JOB_CANCELLED")

    assert await runtime.uploads.get(job.job_id) is None
    assert await missing(runtime, segments)
    get = stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth)
    if action == "delete":
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await get
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    else:
        assert (await get).job.state == job_pb2.JOB_STATE_CANCELLED


@pytest.mark.parametrize("how", ["one-large-chunk", "small-then-finish"])
async def test_first_bytes_that_are_not_audio_fail_the_job_and_leave_no_audio(
    deployment: Deployment, how: str
) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    runtime = deployment.server.runtime
    stream = LiveStream(deployment)
    _, job = await stream.open(live_config())
    text = b"Patient notes typed into the wrong field, not a recording. "
    row = None
    if how == "one-large-chunk":
        stream.chunk(text * 5000)  # 295 KB: past the probe's limit at once
    else:
        stream.chunk(text * 10)
        await stream.next_status()  # too few bytes to tell: stored, acknowledged
        row = await runtime.uploads.get(job.job_id)
        assert row is not None
        stream.chunk(text, finish=True)
    result = failure(await stream.error())
    assert (result.code, result.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "UNSUPPORTED_AUDIO")

    got = (await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth)).job
    assert got.state == job_pb2.JOB_STATE_FAILED
    assert "streamable audio" in got.error.message
    assert await runtime.uploads.get(job.job_id) is None
    if row is not None:
        assert await missing(runtime, [key for key, _ in segment_keys(row)])
    with pytest.raises(NotFound):
        await runtime.blobs.size(f"audio/{job.job_id}")


async def test_a_job_failed_by_its_worker_ends_the_stream_and_its_segments(
    deployment: Deployment,
) -> None:
    runtime = deployment.server.runtime
    stream = LiveStream(deployment)
    _, job = await stream.open(live_config())
    for chunk in pieces(wav_bytes(seconds=1)):
        stream.chunk(chunk)
        await stream.next_status()
    row = await runtime.uploads.get(job.job_id)
    assert row is not None
    # What a worker does when its engine gives up on a job (workers/worker.py, _fail).
    await runtime.publish_events(
        await runtime.store.fail(job.job_id, "INTERNAL", "The engine gave up.")
    )
    result = failure(await stream.error())
    assert (result.code, result.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "JOB_FAILED")
    assert "The engine gave up." in result.message
    assert await runtime.uploads.get(job.job_id) is None
    assert await missing(runtime, [key for key, _ in segment_keys(row)])


@pytest.mark.parametrize("kind", [SCALED])
async def test_a_live_upload_resumes_after_its_server_process_is_killed(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    victim = server_process(settings, port, tmp_path / "victim.log")
    deployment = await start_deployment("scaled", settings)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        await asyncio.wait_for(channel.channel_ready(), timeout=60)
        data = wav_bytes(seconds=3)
        chunks = pieces(data)
        stream = LiveStream(deployment, stub=pb_grpc.TranscriptionServiceStub(channel))
        _, job = await stream.open(live_config())
        for chunk in chunks[:2]:
            stream.chunk(chunk)
            await stream.next_status()
        victim.send_signal(signal.SIGKILL)  # mid-stream, nothing drained
        await asyncio.to_thread(victim.wait, 20)
        await stream.error()

        resumed = LiveStream(deployment)
        status, again = await resumed.open(pb.UploadConfig(resume_upload_id=job.job_id))
        assert status.committed_offset == 2 * CHUNK
        assert again.job_id == job.job_id
        for index, chunk in enumerate(chunks[2:], start=2):
            resumed.chunk(chunk, finish=index == len(chunks) - 1)
        done = (await resumed.until_end())[-1].job
        assert done.job_id == job.job_id
        assert done.audio_sha256 == hashlib.sha256(data).hexdigest()
    finally:
        if victim.poll() is None:
            victim.kill()
            await asyncio.to_thread(victim.wait, 20)
        await channel.close(None)
        await deployment.stop()


async def reader_sees_job_audio(runtime: Runtime, job_id: str) -> bool:
    row = await runtime.store.get(job_id)
    return row is not None and bool(row.audio_key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_process(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``consulta serve --no-worker`` on ``port``, a process the test can kill outright."""
    from tests.e2e.test_scaled import CLI, settings_env

    env = settings_env(settings)
    env.update(
        CONSULTA_GRPC_LISTEN=f"127.0.0.1:{port}", CONSULTA_HTTP_LISTEN=f"127.0.0.1:{free_port()}"
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(CLI), "serve", "--no-worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
