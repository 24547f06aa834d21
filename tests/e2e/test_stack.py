"""`make stack` as a person runs it: separate processes on fixed ports, and 20 jobs that all
finish, exactly once each, while worker-1 is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from app.devstack.stack import STACK, dev_tls, stack_env
from core.auth import mint_token
from tests.e2e.audio import wav_bytes
from tests.e2e.test_pipeline import upload_requests
from tests.support import eventually

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[None]:
    log = tmp_path / "stack.log"
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.devstack.stack", "up"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while b"stack up" not in log.read_bytes():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "make stack did not come up in 120 s"
            time.sleep(0.2)
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_twenty_jobs_survive_killing_worker_one(stack: None) -> None:
    token = mint_token(stack_env()["CONSULTA_JWT_SECRET"], "stack-test", tenant="default")
    auth = (("authorization", f"Bearer {token}"),)
    audio = wav_bytes(seconds=8)
    jobs: list[str] = []
    # The stack speaks TLS with its development CA.
    credentials = grpc.ssl_channel_credentials(root_certificates=dev_tls()[0].read_bytes())
    async with (
        grpc.aio.secure_channel("127.0.0.1:50051", credentials) as one,
        grpc.aio.secure_channel("127.0.0.1:50052", credentials) as two,
    ):
        stubs = [pb_grpc.TranscriptionServiceStub(one), pb_grpc.TranscriptionServiceStub(two)]
        worker_one = int((STACK / "worker-1.pid").read_text())
        for n in range(20):
            responses = [
                r
                async for r in stubs[n % 2].UploadAudio(
                    upload_requests(audio, pb.UploadConfig()), metadata=auth
                )
            ]
            jobs.append(responses[-1].job.job_id)
            if n == 3:
                os.kill(worker_one, signal.SIGKILL)

        async def all_completed() -> bool:
            states = [
                (await stubs[0].GetJob(pb.GetJobRequest(job_id=j), metadata=auth)).job.state
                for j in jobs
            ]
            assert job_pb2.JOB_STATE_FAILED not in states
            return all(s == job_pb2.JOB_STATE_COMPLETED for s in states)

        await eventually(all_completed, within=240, interval=1, what="20 jobs COMPLETED")
        for job_id in jobs:
            events = [
                m.event
                async for m in stubs[1].WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=auth)
                if m.HasField("event")
            ]
            assert sum(e.HasField("note_completed") for e in events) == 1
