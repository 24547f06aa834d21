"""Identifiers and free text are checked and never echoed unbounded (issue 10, finding 7);
tokens name this deployment's audience, live at most its maximum lifetime and come in exactly
one header (finding 9)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import jwt
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from server.app import signing_secret
from tests.e2e.deployment import Deployment
from tests.e2e.rpc_errors import Failure, failure

HUGE = "x" * 10_000


async def _upload_failure(deployment: Deployment, config: pb.UploadConfig) -> Failure:
    async def requests() -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(config=config)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in deployment.stub().UploadAudio(requests(), metadata=deployment.auth()):
            pass
    return failure(caught.value)


def _assert_refused(result: Failure, field: str) -> None:
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT
    assert result.fields == [field]
    # The caller's value is never repeated back in full.
    assert "x" * 300 not in result.message
    assert len(result.message) < 600


async def test_long_resume_upload_id_is_invalid_and_not_echoed(deployment: Deployment) -> None:
    result = await _upload_failure(deployment, pb.UploadConfig(resume_upload_id=HUGE))
    _assert_refused(result, "config.resume_upload_id")


async def test_malformed_resume_upload_id_is_invalid(deployment: Deployment) -> None:
    result = await _upload_failure(deployment, pb.UploadConfig(resume_upload_id="../etc/passwd"))
    _assert_refused(result, "config.resume_upload_id")


async def test_long_mime_type_is_invalid(deployment: Deployment) -> None:
    result = await _upload_failure(deployment, pb.UploadConfig(mime_type="a" * 100_000))
    _assert_refused(result, "config.mime_type")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await deployment.stub().CreateJob(
            pb.CreateJobRequest(transcript_text="Doctor: hello", mime_type="a" * 100_000),
            metadata=deployment.auth(),
        )
    _assert_refused(failure(caught.value), "mime_type")


async def test_long_idempotency_key_is_invalid(deployment: Deployment) -> None:
    config = job_pb2.JobConfig(idempotency_key="k" * 129)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await deployment.stub().CreateJob(
            pb.CreateJobRequest(config=config, transcript_text="Doctor: hello"),
            metadata=deployment.auth(),
        )
    _assert_refused(failure(caught.value), "config.idempotency_key")


@pytest.mark.parametrize("value", [HUGE, "not-a-uuid", "0" * 64])
async def test_job_and_upload_ids_are_checked(deployment: Deployment, value: str) -> None:
    stub = deployment.stub()
    calls: list[tuple[Any, Any, str]] = [
        (stub.GetJob, pb.GetJobRequest(job_id=value), "job_id"),
        (stub.GetTranscript, pb.GetTranscriptRequest(job_id=value), "job_id"),
        (stub.DeleteJob, pb.DeleteJobRequest(job_id=value), "job_id"),
        (stub.GetUploadStatus, pb.GetUploadStatusRequest(upload_id=value), "upload_id"),
    ]
    for method, request, field in calls:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await method(request, metadata=deployment.auth())
        _assert_refused(failure(caught.value), field)


async def test_long_page_token_is_invalid(deployment: Deployment) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await deployment.stub().ListJobs(
            pb.ListJobsRequest(page_token="[" * 5000), metadata=deployment.auth()
        )
    _assert_refused(failure(caught.value), "page_token")


# -- tokens -------------------------------------------------------------------------------


def _token(deployment: Deployment, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "alice",
        "tenant": "clinic-a",
        "iss": "consulta",
        "aud": "consulta",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, signing_secret(deployment.settings), algorithm="HS256")


async def _list_code(deployment: Deployment, metadata: Any) -> grpc.StatusCode:
    return (await _list(deployment, metadata))[0]


async def _list(deployment: Deployment, metadata: Any) -> tuple[grpc.StatusCode, str]:
    try:
        await deployment.stub().ListJobs(pb.ListJobsRequest(), metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


async def test_a_well_formed_token_is_accepted(deployment: Deployment) -> None:
    metadata = (("authorization", f"Bearer {_token(deployment)}"),)
    assert await _list_code(deployment, metadata) == grpc.StatusCode.OK


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"aud": "another-service"}, "another audience"),
        ({"aud": None}, "not valid"),
        ({"exp": int(time.time()) + 100 * 365 * 86400}, "lives longer"),  # a century
        ({"exp": None}, "not valid"),
        ({"iat": None}, "not valid"),
    ],
    ids=["other-audience", "no-audience", "century", "no-exp", "no-iat"],
)
async def test_tokens_outside_the_rules_are_refused(
    deployment: Deployment, changes: dict[str, Any], said: str
) -> None:
    metadata = (("authorization", f"Bearer {_token(deployment, **changes)}"),)
    code, message = await _list(deployment, metadata)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert said in message


async def test_two_authorization_headers_are_refused(deployment: Deployment) -> None:
    header = ("authorization", f"Bearer {_token(deployment)}")
    code, message = await _list(deployment, (header, header))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "exactly one" in message
