"""Health, reflection (driven by the real grpcurl), the HTTP side port and draining."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
from pathlib import Path

import aiohttp
import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc

from core.runtime import open_runtime
from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment
from tests.e2e.test_jobs import text_job
from tests.e2e.test_pipeline import upload
from tests.support import eventually

GRPCURL = Path(sys.executable).parent / "grpcurl"


async def grpcurl(deployment: Deployment, *args: str, token: str | None = None) -> str:
    """Run grpcurl against the server (plaintext) and return its stdout; fail on error."""
    binary = GRPCURL if GRPCURL.exists() else Path(shutil.which("grpcurl") or "grpcurl")
    header = ["-H", f"authorization: Bearer {token}"] if token else []
    proc = await asyncio.create_subprocess_exec(
        str(binary),
        "-plaintext",
        "-max-time",
        "30",
        *header,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_health_serving_overall_and_per_service(deployment: Deployment) -> None:
    stub = health_pb2_grpc.HealthStub(deployment.channel())
    for service in ("", "consulta.v1.TranscriptionService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Check(health_pb2.HealthCheckRequest(service="nope.v1.Unknown"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_grpcurl_lists_describes_calls_and_watches(deployment: Deployment) -> None:
    address = f"127.0.0.1:{deployment.server.port}"
    services = await grpcurl(deployment, address, "list")
    assert "consulta.v1.TranscriptionService" in services.split()
    assert "grpc.health.v1.Health" in services.split()
    described = await grpcurl(deployment, address, "describe", "consulta.v1.TranscriptionService")
    for rpc in ("UploadAudio", "WatchJob", "CreateJob", "GetSummary", "DeleteJob"):
        assert f"rpc {rpc}" in described
    token = deployment.token()
    job = await text_job(deployment)
    got = json.loads(
        await grpcurl(
            deployment,
            "-d",
            json.dumps({"jobId": job.job_id}),
            address,
            "consulta.v1.TranscriptionService/GetJob",
            token=token,
        )
    )
    assert got["job"]["job_id"] == job.job_id  # grpcurl prints proto field names
    watched = await grpcurl(
        deployment,
        "-d",
        json.dumps({"jobId": job.job_id}),
        address,
        "consulta.v1.TranscriptionService/WatchJob",
        token=token,
    )
    assert '"snapshot"' in watched and "JOB_STATE_COMPLETED" in watched
    assert '"note_completed"' in watched


async def test_readyz_follows_serving_and_shutdown_drains(deployment: Deployment) -> None:
    server = deployment.server
    base = f"http://127.0.0.1:{server.http_port}"
    stub, auth = deployment.stub(), deployment.auth()
    job, _ = await upload(deployment, wav_bytes())  # seconds of transcription
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/readyz") as r:
            assert r.status == 200
        async with http.get(f"{base}/healthz") as r:
            assert r.status == 200
        async with http.get(f"{base}/metrics") as r:
            assert "consulta_rpcs_total" in await r.text()

        watch = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=auth)
        async for message in watch:
            if message.event.state_changed.state == job_pb2.JOB_STATE_TRANSCRIBING:
                break
        stopping = asyncio.create_task(server.stop(2))

        async def not_ready() -> bool:
            async with http.get(f"{base}/readyz") as r:
                return r.status == 503

        await eventually(not_ready, within=2, what="readyz 503 while draining")
        # The in-flight stream is not cut at once: it keeps flowing during the grace period.
        with contextlib.suppress(grpc.aio.AioRpcError):
            async for _ in watch:
                pass
        await stopping
    deployment.servers.remove(server)
    if deployment.kind == "embedded":
        # The embedded worker finished its job within the grace period or handed it back:
        # never left running under a lease nobody holds.
        runtime = await open_runtime(deployment.settings)
        try:
            row = await runtime.store.get(job.job_id)
            assert row is not None
            assert row.state in ("queued", "completed") and row.lease_owner is None
        finally:
            await runtime.aclose()


async def test_a_second_server_on_a_taken_port_fails_loudly(
    deployment: Deployment, tmp_path: Path
) -> None:
    from app.processes import start_server

    taken = deployment.settings.model_copy(
        update={"grpc_listen": f"127.0.0.1:{deployment.server.port}", "data_dir": tmp_path / "b"}
    )
    with pytest.raises(RuntimeError, match="cannot listen"):
        await start_server(taken)
    # The first server is untouched.
    stub = health_pb2_grpc.HealthStub(deployment.channel())
    reply = await stub.Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
