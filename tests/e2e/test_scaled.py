"""Scaled out only: several processes against PostgreSQL, RabbitMQ and S3, and the failures
that only happen there (a worker killed mid-job, a broker dropping connections, a job watched
from another server)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from rich.console import Console

from app.devstack.seaweed import S3Endpoint
from clients.render import FollowPrinter
from core.settings import Settings
from tests.e2e.audio import wav_bytes
from tests.e2e.conftest import delete_rabbitmq_queues, scaled_settings
from tests.e2e.deployment import Deployment, run_to_end, start_deployment
from tests.e2e.test_jobs import text_job
from tests.e2e.test_pipeline import upload
from tests.support import eventually

pytestmark = pytest.mark.stack

PERCENT = re.compile(r"transcribing (\d+)%")
CLI = Path(sys.executable).parent / "consulta"


def settings_env(settings: Settings) -> dict[str, str]:
    """The CONSULTA_* variables that reproduce ``settings`` in another process."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (tuple, list)):
            text = json.dumps(list(value))
        else:
            text = str(value)
        env[f"CONSULTA_{name.upper()}"] = text
    return env


@pytest.fixture
async def scaled(tmp_path: Path, s3_endpoint: S3Endpoint) -> AsyncIterator[Settings]:
    settings = await scaled_settings(tmp_path, s3_endpoint)
    yield settings
    await delete_rabbitmq_queues(settings)


def worker_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    # The child keeps its own copy of the descriptor; ours is closed at once.
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(CLI), "worker"], env=settings_env(settings), stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_job_uploaded_to_one_server_is_watched_live_from_another(
    scaled: Settings,
) -> None:
    deployment = await start_deployment("scaled", scaled, servers=2)
    try:
        job, _ = await upload(deployment, wav_bytes(seconds=20))
        auth = deployment.auth()
        from_two = await run_to_end(deployment.stub(1), job.job_id, auth)
        from_one = await run_to_end(deployment.stub(0), job.job_id, auth)
        assert from_two[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED
        seqs = [m.event.sequence for m in from_two[1:]]
        assert seqs == list(range(1, len(seqs) + 1))
        assert [m.event for m in from_two[1:]] == [m.event for m in from_one[1:]]
    finally:
        await deployment.stop()


async def test_a_worker_killed_mid_job_is_replaced(
    scaled: Settings, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    settings = scaled.model_copy(update={"lease_seconds": 3.0})
    deployment = await start_deployment("scaled", settings)
    # The in-process worker steps aside: the job must go to the subprocess first.
    for group in deployment.workers:
        await group.stop(1)
        await group.rt.aclose()
    deployment.workers.clear()
    try:
        victim = worker_process(settings, tmp_path / "victim.log")
        processes.append(victim)
        job, _ = await upload(deployment, wav_bytes())
        stub, auth = deployment.stub(), deployment.auth()
        watch = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=auth, timeout=120)
        seen: list[pb.WatchJobResponse] = []
        async for message in watch:
            seen.append(message)
            if message.event.HasField("segment"):
                break  # the victim is in the middle of transcribing
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        processes.append(worker_process(settings, tmp_path / "rescuer.log"))
        rest = [m async for m in watch]
        assert rest[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED
        everything = await run_to_end(stub, job.job_id, auth)
        kinds = [m.event.WhichOneof("payload") for m in everything[1:]]
        assert kinds.count("note_completed") == 1
        # Segments are final: the rescuer continues after the victim's last one, so each
        # segment id reaches a watcher once, live and from the log alike (issue 16 item 4).
        for stream in (seen + rest, everything):
            ids = [m.event.segment.segment_id for m in stream if m.event.HasField("segment")]
            assert ids == list(range(len(ids))), ids
            states = [
                m.event.state_changed.state for m in stream if m.event.HasField("state_changed")
            ]
            assert states.count(job_pb2.JOB_STATE_TRANSCRIBING) == 1
        # What `consulta transcribe --follow` prints for the live stream: no line twice.
        out, err = io.StringIO(), io.StringIO()
        printer = FollowPrinter(out, Console(file=err, width=200), as_json=False)
        for message in seen + rest:
            printer.show(message)
        lines = [line for line in out.getvalue().splitlines() if line.startswith("[")]
        assert lines and len(lines) == len(set(lines)), lines
        # One "transcribing" state line; the progress lines after it never go backwards.
        stderr_lines = err.getvalue().splitlines()
        assert stderr_lines.count("transcribing") == 1, err.getvalue()
        shares = [int(m.group(1)) for m in map(PERCENT.match, stderr_lines) if m]
        assert shares == sorted(shares), err.getvalue()
        transcript = await stub.GetTranscript(
            pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth
        )
        assert [s.segment_id for s in transcript.transcript.segments] == ids
        assert [s.text for s in transcript.transcript.segments] == [
            m.event.segment.text for m in everything if m.event.HasField("segment")
        ]
        row = await deployment.server.runtime.store.get(job.job_id)
        assert row is not None and row.attempts == 2
    finally:
        await deployment.stop()


async def test_broker_connections_dropped_mid_flight_lose_no_job(scaled: Settings) -> None:
    deployment = await start_deployment("scaled", scaled)
    try:
        stub, auth = deployment.stub(), deployment.auth()
        first = [await text_job(deployment) for _ in range(3)]
        proc = await asyncio.create_subprocess_exec(
            "rabbitmqctl",
            "close_all_connections",
            "consulta test: broker drop",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        later = [await text_job(deployment) for _ in range(3)]
        for job in first + later:
            final = await run_to_end(stub, job.job_id, auth)
            assert final[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED

        async def all_done() -> bool:
            page = await stub.ListJobs(
                pb.ListJobsRequest(states=[job_pb2.JOB_STATE_COMPLETED]), metadata=auth
            )
            return len(page.jobs) == 6

        await eventually(all_done, within=30, what="every job completed")
    finally:
        await deployment.stop()


async def test_presigned_audio_url_and_delete_remove_the_object(scaled: Settings) -> None:
    deployment = await start_deployment("scaled", scaled)
    try:
        await _presign_then_delete(deployment)
    finally:
        await deployment.stop()


async def _presign_then_delete(deployment: Deployment) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    data = wav_bytes(seconds=3)
    job, _ = await upload(deployment, data)
    got = await stub.GetJob(
        pb.GetJobRequest(job_id=job.job_id, include_audio_url=True), metadata=auth
    )
    url = got.job.audio_download_url
    assert url.startswith("http://127.0.0.1:")
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        assert await response.read() == data
    await run_to_end(stub, job.job_id, auth)
    await stub.DeleteJob(pb.DeleteJobRequest(job_id=job.job_id), metadata=auth)
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 404
