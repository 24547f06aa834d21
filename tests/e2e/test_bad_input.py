"""Bad input gets a clear status, a reason and a message, and leaves nothing behind."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from tests.e2e.audio import SAMPLE, wav_bytes
from tests.e2e.deployment import Deployment
from tests.e2e.rpc_errors import Failure, failure
from tests.e2e.test_pipeline import upload_requests

# Half the sample, then bytes no MP3 decoder accepts. (A recording that merely stops early
# is transcribed with a warning: tests/e2e/test_recordings.py.)
_HALF = SAMPLE.read_bytes()[: SAMPLE.stat().st_size // 2]
GARBLED_MP3 = _HALF + b"\x00" * 1000 + bytes(range(256)) * 50


async def failed_upload(
    deployment: Deployment, requests: AsyncIterator[pb.UploadAudioRequest]
) -> Failure:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in deployment.stub().UploadAudio(requests, metadata=deployment.auth()):
            pass
    return failure(caught.value)


async def assert_nothing_left(deployment: Deployment) -> None:
    stub = deployment.stub()
    jobs = (await stub.ListJobs(pb.ListJobsRequest(), metadata=deployment.auth())).jobs
    assert list(jobs) == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"this is a text file, not audio\n" * 10, "UNSUPPORTED_AUDIO"),
        (GARBLED_MP3, "CORRUPT_AUDIO"),  # the decoder fails on what follows the frames
        (wav_bytes(seconds=3)[:44], "EMPTY_AUDIO"),  # a header and no samples
    ],
    ids=["not-audio", "corrupt", "no-samples"],
)
async def test_unusable_audio_is_refused_before_queueing(
    deployment: Deployment, data: bytes, reason: str
) -> None:
    result = await failed_upload(deployment, upload_requests(data, pb.UploadConfig()))
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT
    assert result.reason == reason
    assert result.message
    await assert_nothing_left(deployment)


async def test_empty_upload(deployment: Deployment) -> None:
    async def requests() -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(config=pb.UploadConfig())
        yield pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=0, data=b"", finish=True))

    result = await failed_upload(deployment, requests())
    assert (result.code, result.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "EMPTY_AUDIO")
    await assert_nothing_left(deployment)


async def test_first_message_must_be_config(deployment: Deployment) -> None:
    async def requests() -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=0, data=b"abc"))

    result = await failed_upload(deployment, requests())
    assert (result.code, result.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "CONFIG_FIRST")
    assert result.fields == ["config"]


async def test_out_of_order_chunk(deployment: Deployment) -> None:
    data = wav_bytes(seconds=2)

    async def requests() -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(config=pb.UploadConfig())
        yield pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=0, data=data[:1000]))
        yield pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=5000, data=data[5000:]))

    result = await failed_upload(deployment, requests())
    assert (result.code, result.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "OFFSET_MISMATCH")
    assert "1000" in result.message
    await assert_nothing_left(deployment)


async def test_larger_than_declared_and_than_allowed(deployment: Deployment) -> None:
    data = wav_bytes(seconds=2)
    result = await failed_upload(
        deployment, upload_requests(data, pb.UploadConfig(declared_size_bytes=1000))
    )
    assert (result.code, result.reason) == (grpc.StatusCode.OUT_OF_RANGE, "AUDIO_TOO_LARGE")
    too_big = deployment.settings.max_audio_bytes + 1
    result = await failed_upload(
        deployment, upload_requests(data, pb.UploadConfig(declared_size_bytes=too_big))
    )
    assert result.code == grpc.StatusCode.OUT_OF_RANGE
    await assert_nothing_left(deployment)


async def test_checksum_and_size_mismatch_lose_nothing_and_keep_nothing(
    deployment: Deployment,
) -> None:
    data = wav_bytes(seconds=2)
    wrong = hashlib.sha256(b"other").hexdigest()
    result = await failed_upload(deployment, upload_requests(data, pb.UploadConfig(sha256=wrong)))
    assert (result.code, result.reason) == (grpc.StatusCode.DATA_LOSS, "SHA256_MISMATCH")
    result = await failed_upload(
        deployment, upload_requests(data, pb.UploadConfig(declared_size_bytes=len(data) + 10))
    )
    assert (result.code, result.reason) == (grpc.StatusCode.DATA_LOSS, "SIZE_MISMATCH")
    await assert_nothing_left(deployment)


async def test_malformed_fields_are_named(deployment: Deployment) -> None:
    stub = deployment.stub()
    config = job_pb2.JobConfig(
        language_code="english please",
        engine_hints=job_pb2.EngineHints(summarizer="gpt-17"),
        encounter=job_pb2.EncounterMetadata(patient_reference="x" * 200),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateJob(
            pb.CreateJobRequest(config=config, transcript_text="Doctor: hello"),
            metadata=deployment.auth(),
        )
    result = failure(caught.value)
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(result.fields) == {
        "config.language_code",
        "config.engine_hints.summarizer",
        "config.encounter.patient_reference",
    }
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(pb.GetJobRequest(job_id="../../etc"), metadata=deployment.auth())
    assert failure(caught.value).fields == ["job_id"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListJobs(pb.ListJobsRequest(page_token="garbage"), metadata=deployment.auth())
    assert failure(caught.value).reason == "BAD_PAGE_TOKEN"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateJob(pb.CreateJobRequest(), metadata=deployment.auth())
    assert failure(caught.value).reason == "MISSING_SOURCE"
    await assert_nothing_left(deployment)


async def test_unknown_audio_uri_scheme(deployment: Deployment) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await deployment.stub().CreateJob(
            pb.CreateJobRequest(audio_uri="file:///etc/passwd"), metadata=deployment.auth()
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await assert_nothing_left(deployment)


async def test_tokens_are_required_and_checked(deployment: Deployment) -> None:
    stub = deployment.stub()
    for metadata in [
        (),
        (("authorization", "Bearer not-a-jwt"),),
        (("authorization", "Basic abc"),),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListJobs(pb.ListJobsRequest(), metadata=metadata)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    from core.auth import mint_token

    forged = mint_token("another-deployments-secret-of-enough-length", "alice")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListJobs(pb.ListJobsRequest(), metadata=(("authorization", f"Bearer {forged}"),))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    expired = mint_token(deployment.settings.jwt_secret, "alice", ttl_seconds=-10)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListJobs(
            pb.ListJobsRequest(), metadata=(("authorization", f"Bearer {expired}"),)
        )
    assert "expired" in (caught.value.details() or "")
