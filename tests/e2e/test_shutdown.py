"""Shutdown stays within its grace (issue 10, finding 10): a real ``consulta serve`` process
with a silent upload stream and a WatchJob stream open and its worker transcribing gets
SIGTERM and must exit within ``shutdown_grace_seconds`` + 2 s.

This bounds correctness (an orchestrator kills at its own deadline), not speed: the bound is
the setting the operator chose, so the assertion is on it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from core.auth import mint_token
from tests.e2e.audio import SAMPLE
from tests.e2e.serve_process import log_record, start_serve
from tests.support import eventually

GRACE = 3.0


async def test_sigterm_exits_within_grace(tmp_path: Path) -> None:
    secret = "shutdown-" + uuid.uuid4().hex
    proc = await start_serve(tmp_path / "var", secret, SHUTDOWN_GRACE_SECONDS=str(GRACE))
    try:
        port = int(str((await log_record(proc, "serving gRPC"))["grpc_port"]))
        auth = (("authorization", f"Bearer {mint_token(secret, 'alice')}"),)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        stub = pb_grpc.TranscriptionServiceStub(channel)

        # The worker is transcribing a job ...
        created = await stub.CreateJob(
            pb.CreateJobRequest(audio_content=SAMPLE.read_bytes()), metadata=auth, timeout=60
        )
        job_id = created.job.job_id

        async def transcribing() -> bool:
            job = (await stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=auth)).job
            return job.state == job_pb2.JOB_STATE_TRANSCRIBING

        await eventually(transcribing, within=60, what="the worker transcribing")
        # ... a watcher is following it, and an upload stream is open and silent.
        watch = stub.WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=auth)
        await watch.read()
        never = asyncio.Event()

        async def silent() -> AsyncIterator[pb.UploadAudioRequest]:
            yield pb.UploadAudioRequest(config=pb.UploadConfig())
            await never.wait()

        upload = stub.UploadAudio(silent(), metadata=auth)
        await upload.read()

        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        assert proc.stderr is not None
        rest = await asyncio.wait_for(proc.stderr.read(), GRACE + 60)
        await asyncio.wait_for(proc.wait(), 10)
        took = time.monotonic() - start
        said = [json.loads(x).get("message") for x in rest.splitlines() if x.startswith(b"{")]
        print(f"exited {took:.2f} s after SIGTERM (grace {GRACE} s): {said}")
        never.set()
        await channel.close(None)
        assert proc.returncode == 0
        assert took <= GRACE + 2, (
            f"exited {took:.1f} s after SIGTERM with a {GRACE} s grace: {said}"
        )
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
