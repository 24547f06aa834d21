"""Retention: an admin sets the tenant's period; the sweeper erases finished jobs older than
it (audio, transcript, note, events, the job) and audits each erasure."""

from __future__ import annotations

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb
from google.protobuf import duration_pb2

from core.db.audit import RETENTION_SUBJECT
from core.db.upload_store import segment_folder
from core.errors import NotFound
from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment, run_to_end
from tests.e2e.test_jobs import text_job
from tests.e2e.test_pipeline import upload
from tests.support import eventually


async def _gone(deployment: Deployment, job_id: str, user: str = "alice") -> bool:
    try:
        await deployment.stub().GetJob(
            pb.GetJobRequest(job_id=job_id), metadata=deployment.auth(user)
        )
    except grpc.aio.AioRpcError as exc:
        return exc.code() == grpc.StatusCode.NOT_FOUND
    return False


async def test_expired_jobs_are_erased_and_audited(deployment: Deployment) -> None:
    stub = deployment.stub()
    admin = deployment.auth("it-admin", roles=("admin",))
    default = await stub.GetRetentionPolicy(pb.GetRetentionPolicyRequest(), metadata=admin)
    assert default.policy.is_default and default.policy.retention.seconds == 0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SetRetentionPolicy(
            pb.SetRetentionPolicyRequest(retention=duration_pb2.Duration(seconds=1)),
            metadata=deployment.auth(),
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    bobs = await text_job(deployment, "bob")  # another clinician of clinic-a
    kept = await stub.CreateJob(
        pb.CreateJobRequest(transcript_text="[doctor] hello.\n"),
        metadata=deployment.auth("carol", tenant="clinic-b"),
    )
    set_to = await stub.SetRetentionPolicy(
        pb.SetRetentionPolicyRequest(retention=duration_pb2.Duration(seconds=1)), metadata=admin
    )
    assert set_to.policy.retention.seconds == 1 and set_to.policy.updated_by == "it-admin"
    audio_job, _ = await upload(deployment, wav_bytes(seconds=2))
    # A live segment a stream stored and died before committing (no row names it) goes too.
    orphan = f"{segment_folder(audio_job.job_id)}/00000001-died"
    await deployment.server.runtime.blobs.put(orphan, b"patient audio")
    await run_to_end(stub, audio_job.job_id, deployment.auth())
    row = await deployment.server.runtime.store.get(audio_job.job_id)
    assert row is not None and row.audio_key
    await eventually(lambda: _gone(deployment, audio_job.job_id), within=30, what="erasure")
    await eventually(lambda: _gone(deployment, bobs.job_id, "bob"), within=30, what="erasure")
    with pytest.raises(NotFound):
        await deployment.server.runtime.blobs.size(row.audio_key)
    with pytest.raises(NotFound):
        await deployment.server.runtime.blobs.size(orphan)
    assert await deployment.server.runtime.store.transcript(audio_job.job_id) is None
    # clinic-b has no policy and the deployment keeps jobs by default.
    carol = deployment.auth("carol", tenant="clinic-b")
    got = await stub.GetJob(pb.GetJobRequest(job_id=kept.job.job_id), metadata=carol)
    assert got.job.job_id == kept.job.job_id
    # The sweeper audits each erasure right after it: wait for both records.
    expected = {(audio_job.job_id, "RetentionErase", "OK"), (bobs.job_id, "RetentionErase", "OK")}

    async def both_audited() -> bool:
        audit = await stub.ListAuditEvents(
            pb.ListAuditEventsRequest(subject=RETENTION_SUBJECT),
            metadata=deployment.auth("inspector", roles=("auditor",)),
        )
        return expected <= {(e.job_id, e.action, e.outcome) for e in audit.events}

    await eventually(both_audited, within=30, what="both erasures audited")
