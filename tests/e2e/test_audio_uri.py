"""CreateJob imports ``audio_uri`` only from the allowlist, never from the service's own audio
prefix (issue 10, finding 3), against SeaweedFS."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb

from app.devstack.seaweed import S3Endpoint
from core.settings import Settings
from tests.e2e.audio import wav_bytes
from tests.e2e.conftest import base_settings, scaled_settings
from tests.e2e.deployment import Deployment, start_deployment
from tests.e2e.rpc_errors import failure
from tests.e2e.test_pipeline import upload


async def _create(deployment: Deployment, uri: str, tenant: str = "hospital-b") -> Any:
    return await deployment.stub().CreateJob(
        pb.CreateJobRequest(audio_uri=uri), metadata=deployment.auth("dr-jones", tenant=tenant)
    )


async def _refused(deployment: Deployment, uri: str) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _create(deployment, uri)
    got = failure(caught.value)
    return got.code, got.reason, got.message


@pytest.mark.stack
async def test_audio_uri_only_from_the_allowlist(
    tmp_path: Path, s3_endpoint: S3Endpoint, raw_s3: Any
) -> None:
    tag = uuid.uuid4().hex[:10]
    inbox, elsewhere = f"in-{tag}", f"out-{tag}"
    for bucket in (inbox, elsewhere):
        await raw_s3.create_bucket(Bucket=bucket)
    audio = wav_bytes(seconds=2)
    for bucket, key in ((inbox, "drop/a.wav"), (inbox, "other/b.wav"), (elsewhere, "drop/a.wav")):
        await raw_s3.put_object(Bucket=bucket, Key=key, Body=audio)
    probe: Settings = await scaled_settings(tmp_path, s3_endpoint)
    own_bucket = probe.blob_url.removeprefix("s3://").split("/")[0]
    # The operator even allowlists the service's own bucket by mistake: still refused.
    settings = probe.model_copy(
        update={"audio_uri_allowlist": (f"s3://{inbox}/drop/", f"s3://{own_bucket}/")}
    )
    deployment = await start_deployment("scaled", settings)
    try:
        victim, _ = await upload(deployment, audio)  # alice of clinic-a
        job = (await _create(deployment, f"s3://{inbox}/drop/a.wav")).job
        assert job.audio_size_bytes == len(audio)
        for uri in (
            f"s3://{inbox}/other/b.wav",
            f"s3://{elsewhere}/drop/a.wav",
            f"s3://{inbox}/drop-more/a.wav",
            f"{probe.blob_url}/audio/{victim.job_id}",
        ):
            code, reason, _ = await _refused(deployment, uri)
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "AUDIO_URI_NOT_ALLOWED")
        for uri in (
            f"s3://{inbox}/drop/../other/b.wav",
            f"s3://{inbox}/drop//a.wav",
            "s3://Not_A_Bucket!/drop/a.wav",
        ):
            code, reason, message = await _refused(deployment, uri)
            assert code == grpc.StatusCode.INVALID_ARGUMENT, (uri, code)
            assert "regex" not in message and "botocore" not in message.lower()
        code, reason, message = await _refused(deployment, f"s3://{inbox}/drop/missing.wav")
        assert code == grpc.StatusCode.NOT_FOUND
        assert "An error occurred" not in message
    finally:
        await deployment.stop()


async def test_embedded_default_imports_nothing(tmp_path: Path) -> None:
    deployment = await start_deployment("embedded", base_settings(tmp_path))
    try:
        code, reason, _ = await _refused(deployment, "s3://some-bucket/some/key.wav")
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "AUDIO_URI_NOT_ALLOWED")
    finally:
        await deployment.stop()
