"""Unit tests of server/access.py: roles are enforced before the servicer runs, and the audit
log gets one row per audited call, written before the data leaves the server."""

from __future__ import annotations

import uuid

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb
from google.rpc import error_details_pb2
from sqlalchemy import text

from core import errors
from tests.server.interceptor_harness import Harness, bearer, detail, status_of

JOB = str(uuid.uuid4())


def _rows(rows: list) -> list[tuple[str, str, str, str, str, str]]:  # type: ignore[type-arg]
    return [(r.subject, r.tenant, r.roles, r.action, r.job_id, r.outcome) for r in rows]


async def test_an_audited_read_writes_one_row(harness: Harness) -> None:
    await harness.stub.GetTranscript(pb.GetTranscriptRequest(job_id=JOB), metadata=bearer())
    assert _rows(await harness.audit_rows()) == [
        ("alice", "clinic-a", "clinician", "GetTranscript", JOB, "OK")
    ]


async def test_get_job_is_audited_only_with_an_audio_url(harness: Harness) -> None:
    await harness.stub.GetJob(pb.GetJobRequest(job_id=JOB), metadata=bearer())
    assert await harness.audit_rows() == []
    await harness.stub.GetJob(
        pb.GetJobRequest(job_id=JOB, include_audio_url=True), metadata=bearer(roles=["service"])
    )
    assert _rows(await harness.audit_rows()) == [
        ("alice", "clinic-a", "service", "GetJob", JOB, "OK")
    ]


@pytest.mark.parametrize("roles", [["auditor"], ["admin"], ["superuser"]])
async def test_a_role_without_patient_data_is_refused_and_the_refusal_audited(
    harness: Harness, roles: list[str]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await harness.stub.GetJob(pb.GetJobRequest(job_id=JOB), metadata=bearer(roles=roles))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    info = detail(status_of(caught.value), error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "ROLE_NOT_ALLOWED"
    assert harness.servicer.ran == []
    # GetJob without a URL is not audited, but every refusal is. Unknown roles give no rights
    # and are not recorded as roles.
    recorded = "" if roles == ["superuser"] else roles[0]
    assert _rows(await harness.audit_rows()) == [
        ("alice", "clinic-a", recorded, "GetJob", JOB, "PERMISSION_DENIED")
    ]


async def test_a_failed_audited_call_is_recorded_with_its_code(harness: Harness) -> None:
    harness.servicer.error = errors.NotFound("No such job.", reason="JOB_NOT_FOUND")
    with pytest.raises(grpc.aio.AioRpcError):
        await harness.stub.GetTranscript(pb.GetTranscriptRequest(job_id=JOB), metadata=bearer())
    assert _rows(await harness.audit_rows()) == [
        ("alice", "clinic-a", "clinician", "GetTranscript", JOB, "NOT_FOUND")
    ]


async def test_a_stream_is_audited_once_before_its_first_message(harness: Harness) -> None:
    call = harness.stub.WatchJob(pb.WatchJobRequest(job_id=JOB), metadata=bearer())
    first = await call.read()
    assert isinstance(first, pb.WatchJobResponse) and first.HasField("snapshot")
    # The servicer is held before its second message: the row is already there.
    assert _rows(await harness.audit_rows()) == [
        ("alice", "clinic-a", "clinician", "WatchJob", JOB, "OK")
    ]
    harness.servicer.gate.set()
    second = await call.read()
    assert isinstance(second, pb.WatchJobResponse) and second.HasField("event")
    assert await call.read() == grpc.aio.EOF  # type: ignore[attr-defined] # not in the stubs
    assert len(await harness.audit_rows()) == 1


async def test_when_the_audit_log_cannot_be_written_no_data_leaves(harness: Harness) -> None:
    async with harness.store.engine.begin() as connection:
        await connection.execute(text("DROP TABLE audit_events"))
    harness.servicer.gate.set()
    with pytest.raises(grpc.aio.AioRpcError) as unary:
        await harness.stub.GetTranscript(pb.GetTranscriptRequest(job_id=JOB), metadata=bearer())
    assert unary.value.code() == grpc.StatusCode.UNAVAILABLE
    call = harness.stub.WatchJob(pb.WatchJobRequest(job_id=JOB), metadata=bearer())
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as stream:
        async for message in call:
            received.append(message)
    assert stream.value.code() == grpc.StatusCode.UNAVAILABLE
    assert received == []
    assert harness.servicer.ran == ["GetTranscript", "WatchJob"]  # ran, but nothing was sent
