"""The audit log: who read or changed which job, when, and how it ended; append-only,
readable by auditors of the same tenant only, and holding no patient data."""

from __future__ import annotations

import json

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.errors import Unavailable
from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment, run_to_end
from tests.e2e.rpc_errors import failure
from tests.e2e.test_jobs import DIALOGUE
from tests.e2e.test_pipeline import upload

PATIENT = "MRN-AUDIT-5521"


async def _audit(
    deployment: Deployment, tenant: str = "clinic-a", **filters: object
) -> list[object]:
    stub = deployment.stub()
    response = await stub.ListAuditEvents(
        pb.ListAuditEventsRequest(**filters),  # type: ignore[arg-type]
        metadata=deployment.auth("inspector", tenant=tenant, roles=("auditor",)),
    )
    return list(response.events)


async def test_reads_and_changes_are_audited(deployment: Deployment) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    config = job_pb2.JobConfig(encounter=job_pb2.EncounterMetadata(patient_reference=PATIENT))
    job = (
        await stub.CreateJob(
            pb.CreateJobRequest(transcript_text=DIALOGUE, config=config), metadata=auth
        )
    ).job
    await run_to_end(stub, job.job_id, auth)
    await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
    await stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=auth)
    await stub.GetJob(pb.GetJobRequest(job_id=job.job_id, include_audio_url=True), metadata=auth)
    await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth)  # not audited
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.GetTranscript(
            pb.GetTranscriptRequest(job_id=job.job_id), metadata=deployment.auth("mallory")
        )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListAuditEvents(pb.ListAuditEventsRequest(), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id), metadata=auth)
    await stub.DeleteJob(pb.DeleteJobRequest(job_id=job.job_id), metadata=auth)

    events = await _audit(deployment, job_id=job.job_id)
    seen = [(e.subject, e.action, e.outcome) for e in events]  # type: ignore[attr-defined]
    assert seen == [
        ("alice", "DeleteJob", "OK"),
        ("alice", "CancelJob", "OK"),
        ("mallory", "GetTranscript", "NOT_FOUND"),
        ("alice", "GetJob", "OK"),
        ("alice", "GetSummary", "OK"),
        ("alice", "GetTranscript", "OK"),
        ("alice", "WatchJob", "OK"),
        ("alice", "CreateJob", "OK"),
    ]
    first = events[-1]
    assert first.tenant == "clinic-a" and list(first.roles) == ["clinician"]  # type: ignore[attr-defined]
    assert first.time.seconds > 0  # type: ignore[attr-defined]
    # The refusal of the clinician's ListAuditEvents is recorded too.
    denied = await _audit(deployment, subject="alice")
    assert ("ListAuditEvents", "PERMISSION_DENIED") in [(e.action, e.outcome) for e in denied]  # type: ignore[attr-defined]
    # Nothing of the patient's data is in the log.
    everything = " ".join(str(e) for e in await _audit(deployment, page_size=100))
    assert PATIENT not in everything and "chest pain" not in everything
    # Pages, newest first, without gap or repeat.
    ids, token = [], ""
    while True:
        page = await deployment.stub().ListAuditEvents(
            pb.ListAuditEventsRequest(job_id=job.job_id, page_size=3, page_token=token),
            metadata=deployment.auth("inspector", roles=("auditor",)),
        )
        ids += [e.event_id for e in page.events]
        token = page.next_page_token
        if not token:
            break
    # The listing reads are recorded under the job too (an auditor looked at its history).
    assert ids[-len(events) :] == [e.event_id for e in events]  # type: ignore[attr-defined]
    # Another tenant's auditor sees none of it.
    assert await _audit(deployment, tenant="clinic-b", job_id=job.job_id) == []
    # An upload is recorded under the job it made.
    uploaded, _ = await upload(deployment, wav_bytes(seconds=2))
    recorded = await _audit(deployment, job_id=uploaded.job_id)
    assert [(e.subject, e.action, e.outcome) for e in recorded] == [  # type: ignore[attr-defined]
        ("alice", "UploadAudio", "OK")
    ]


async def test_the_audit_log_refuses_updates_and_deletes(deployment: Deployment) -> None:
    await _audit(deployment)  # the auditor's read is itself an event, outcome OK
    engine = deployment.server.runtime.store.engine
    for statement in (
        "UPDATE audit_events SET outcome = 'CANCELLED'",
        "DELETE FROM audit_events",
    ):
        with pytest.raises((DBAPIError, Unavailable)):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    (kept,) = await _audit(deployment)
    assert kept.outcome == "OK"  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["embedded"])
async def test_consulta_audit_prints_the_log(deployment: Deployment) -> None:
    from tests.e2e.test_cli import consulta

    stub, auth = deployment.stub(), deployment.auth()
    job = (await stub.CreateJob(pb.CreateJobRequest(transcript_text=DIALOGUE), metadata=auth)).job
    await run_to_end(stub, job.job_id, auth)
    code, out, err = await consulta(deployment, "--json", "audit", "--job", job.job_id)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [(e["action"], e["outcome"]) for e in lines] == [("WatchJob", "OK"), ("CreateJob", "OK")]
    code, out, err = await consulta(deployment, "audit", "--subject", "alice")
    assert code == 0 and "CreateJob" in out and job.job_id in out, err
    # A clinician's token is refused.
    clinician = deployment.token("alice")
    code, out, err = await consulta(deployment, "--token", clinician, "audit")
    assert code == 1 and "auditor" in err, err


@pytest.mark.parametrize("kind", ["embedded"])
@pytest.mark.parametrize(
    ("filters", "field", "says"),
    [
        ({"job_id": "not-a-job-id"}, "job_id", "not an id this service issues"),
        ({"job_id": "1" * 36}, "job_id", "not an id this service issues"),
        ({"page_token": "a" * 513}, "page_token", "At most 512 characters"),
    ],
    ids=["job_id-not-a-uuid", "job_id-36-digits", "page_token-too-long"],
)
async def test_a_malformed_audit_filter_is_refused(
    deployment: Deployment, filters: dict[str, str], field: str, says: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _audit(deployment, **filters)
    refused = failure(caught.value)
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.reason == "MALFORMED_FIELD" and refused.fields == [field]
    assert says in refused.message
