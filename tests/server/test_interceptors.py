"""Unit tests of server/interceptors.py through a real channel: which calls the auth
interceptor refuses and with what, and how the error interceptor turns domain errors into a
status code with google.rpc details (tests/server/interceptor_harness.py runs the chain)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from core import errors
from core.auth import mint_token
from server.interceptors import DOMAIN
from tests.server.interceptor_harness import SECRET, Harness, Metadata, bearer, detail, status_of

JOB = str(uuid.uuid4())
GET_JOB = "/consulta.v1.TranscriptionService/GetJob"


async def _refused(harness: Harness, metadata: Metadata) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await harness.stub.GetJob(pb.GetJobRequest(job_id=JOB), metadata=metadata)
    return caught.value


@pytest.mark.parametrize(
    ("metadata", "says"),
    [
        ((), "needs an 'authorization: Bearer <token>' header"),
        ((("authorization", "Basic YWxpY2U6cHc="),), "must be 'Bearer <token>'"),
        ((("authorization", "Bearer"),), "must be 'Bearer <token>'"),
        (bearer() + bearer("bob"), "exactly one authorization header"),
        ((("authorization", "Bearer not-a-jwt"),), "not valid for this deployment"),
        (
            [
                (
                    "authorization",
                    "Bearer " + mint_token("another-secret-0123456789abcdef-0123456789", "a"),
                )
            ],
            "not valid for this deployment",
        ),
        (
            (("authorization", "Bearer " + mint_token(SECRET, "a", audience="elsewhere")),),
            "meant for another audience",
        ),
    ],
    ids=["none", "basic", "empty-bearer", "two-headers", "garbage", "forged", "audience"],
)
async def test_a_call_without_one_valid_bearer_token_is_unauthenticated_before_the_servicer(
    harness: Harness, metadata: Metadata, says: str
) -> None:
    error = await _refused(harness, metadata)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert says in (error.details() or "")
    info = detail(status_of(error), error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "UNAUTHENTICATED" and info.domain == DOMAIN
    assert harness.servicer.ran == []
    assert await harness.audit_rows() == []  # no caller is known, so nothing is audited


async def test_an_expired_token_is_refused_with_its_own_message(harness: Harness) -> None:
    expired = mint_token(SECRET, "alice", tenant="clinic-a", ttl_seconds=-10)
    error = await _refused(harness, (("authorization", f"Bearer {expired}"),))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in (error.details() or "")
    assert harness.servicer.ran == []


async def test_a_valid_token_reaches_the_servicer(harness: Harness) -> None:
    response = await harness.stub.GetJob(pb.GetJobRequest(job_id=JOB), metadata=bearer())
    assert response.job.job_id == JOB
    assert harness.servicer.ran == ["GetJob"]


async def test_garbage_is_parsed_only_after_the_caller_is_known(harness: Harness) -> None:
    # Bytes in, bytes out: no serializers.
    raw = harness.channel.unary_unary(GET_JOB, None, None)
    garbage = b"\xff\xff\xff\xff not a protobuf"
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await raw(garbage)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as known:
        await raw(garbage, metadata=bearer())
    assert known.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = detail(status_of(known.value), error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "MALFORMED_REQUEST"
    assert known.value.details() == "The request is not a valid GetJob message."
    assert harness.servicer.ran == []


async def test_health_needs_no_token(harness: Harness) -> None:
    health = health_pb2_grpc.HealthStub(harness.channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [
        (errors.InvalidArgument("Bad."), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        (
            errors.NotFound("No.", reason="JOB_NOT_FOUND"),
            grpc.StatusCode.NOT_FOUND,
            "JOB_NOT_FOUND",
        ),
        (errors.NotFound("No."), grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
        (errors.PermissionDenied("No.", reason="X"), grpc.StatusCode.PERMISSION_DENIED, "X"),
        (
            errors.FailedPrecondition("No."),
            grpc.StatusCode.FAILED_PRECONDITION,
            "FAILED_PRECONDITION",
        ),
        (errors.OutOfRange("No."), grpc.StatusCode.OUT_OF_RANGE, "OUT_OF_RANGE"),
        (
            errors.DataLoss("No.", reason="SHA256_MISMATCH"),
            grpc.StatusCode.DATA_LOSS,
            "SHA256_MISMATCH",
        ),
        (errors.Aborted("No.", reason="UPLOAD_IDLE"), grpc.StatusCode.ABORTED, "UPLOAD_IDLE"),
        (errors.Unauthenticated("No."), grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
        (
            errors.AudioError("No.", reason="CORRUPT_AUDIO"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "CORRUPT_AUDIO",
        ),
        # ResourceExhausted is a kind of Unavailable and must keep its own code.
        (
            errors.ResourceExhausted("Full.", reason="TOO_MANY_UPLOADS"),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "TOO_MANY_UPLOADS",
        ),
    ],
)
async def test_a_domain_error_becomes_its_status_code_with_error_info(
    harness: Harness, error: errors.ConsultaError, code: grpc.StatusCode, reason: str
) -> None:
    harness.servicer.error = error
    failed = await _refused(harness, bearer())
    assert failed.code() == code
    assert failed.details() == error.message
    status = status_of(failed)
    assert status.code == code.value[0]
    info = detail(status, error_details_pb2.ErrorInfo)
    assert info is not None and (info.reason, info.domain) == (reason, DOMAIN)


async def test_field_violations_become_a_bad_request(harness: Harness) -> None:
    harness.servicer.error = errors.InvalidArgument(
        "Two fields are wrong.",
        reason="MALFORMED_FIELD",
        violations=(
            errors.FieldViolation("job_id", "must be a UUID"),
            errors.FieldViolation("config.language_code", "unknown language"),
        ),
    )
    status = status_of(await _refused(harness, bearer()))
    bad = detail(status, error_details_pb2.BadRequest)
    assert bad is not None
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("job_id", "must be a UUID"),
        ("config.language_code", "unknown language"),
    ]
    assert detail(status, error_details_pb2.RetryInfo) is None


async def test_unavailable_carries_its_retry_delay(harness: Harness) -> None:
    harness.servicer.error = errors.Unavailable("Down.", retry_after=2.5)
    failed = await _refused(harness, bearer())
    assert failed.code() == grpc.StatusCode.UNAVAILABLE
    retry = detail(status_of(failed), error_details_pb2.RetryInfo)
    assert retry is not None
    assert retry.retry_delay.ToTimedelta().total_seconds() == 2.5


async def test_an_unexpected_error_is_internal_and_leaks_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.servicer.error = RuntimeError("patient Jane Roe said: chest pain")
    failed = await _refused(harness, bearer())
    assert failed.code() == grpc.StatusCode.INTERNAL
    assert failed.details() == "Internal error; it has been logged."
    info = detail(status_of(failed), error_details_pb2.ErrorInfo)
    assert info is None  # a bare status: nothing about the error travels
    assert any(r.levelname == "ERROR" and r.exc_info for r in caplog.records)


async def test_an_error_in_a_stream_ends_it_with_the_status_after_what_was_sent(
    harness: Harness,
) -> None:
    harness.servicer.error = errors.NotFound("Job gone.", reason="JOB_NOT_FOUND")
    harness.servicer.gate.set()
    call = harness.stub.WatchJob(pb.WatchJobRequest(job_id=JOB), metadata=bearer())
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for message in call:
            received.append(message.WhichOneof("response"))
    assert received == ["snapshot"]
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    info = detail(status_of(caught.value), error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "JOB_NOT_FOUND"
