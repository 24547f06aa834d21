"""Idempotency keys are scoped by (tenant, owner), and an upload that creates no job of its
own leaves no audio behind (issue 10, finding 2)."""

from __future__ import annotations

import asyncio

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from sqlalchemy import select

from core.db.models import UploadRow
from core.errors import NotFound
from core.stored_audio import audio_key
from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment
from tests.e2e.test_jobs import DIALOGUE
from tests.e2e.test_pipeline import upload_requests


async def _create(deployment: Deployment, tenant: str, key: str) -> job_pb2.Job:
    response = await deployment.stub().CreateJob(
        pb.CreateJobRequest(
            transcript_text=DIALOGUE,
            config=job_pb2.JobConfig(
                idempotency_key=key,
                encounter=job_pb2.EncounterMetadata(patient_reference=f"patient-of-{tenant}"),
            ),
        ),
        metadata=deployment.auth("dr-smith", tenant=tenant),
    )
    return response.job


async def _upload(deployment: Deployment, tenant: str, key: str) -> tuple[str, job_pb2.Job]:
    """Upload a short recording; returns the upload id and the job it answered with."""
    config = pb.UploadConfig(job=job_pb2.JobConfig(idempotency_key=key))
    responses = [
        r
        async for r in deployment.stub().UploadAudio(
            upload_requests(wav_bytes(seconds=2), config),
            metadata=deployment.auth("dr-smith", tenant=tenant),
            timeout=60,
        )
    ]
    upload_ids = [r.status.upload_id for r in responses if r.status.upload_id]
    return (upload_ids[0] if upload_ids else ""), responses[-1].job


async def test_same_user_name_in_two_tenants_gets_two_jobs(deployment: Deployment) -> None:
    a = await _create(deployment, "hospital-a", "visit-7")
    b = await _create(deployment, "hospital-b", "visit-7")
    assert a.job_id != b.job_id
    assert b.config.encounter.patient_reference == "patient-of-hospital-b"
    # The key still works within each tenant.
    assert (await _create(deployment, "hospital-b", "visit-7")).job_id == b.job_id
    # The same through UploadAudio.
    _, up_a = await _upload(deployment, "hospital-a", "visit-8")
    upload_b, up_b = await _upload(deployment, "hospital-b", "visit-8")
    assert up_a.job_id != up_b.job_id
    status = await deployment.stub().GetUploadStatus(
        pb.GetUploadStatusRequest(upload_id=upload_b),
        metadata=deployment.auth("dr-smith", tenant="hospital-b"),
    )
    assert status.job_id == up_b.job_id


async def _blob_exists(deployment: Deployment, key: str) -> bool:
    try:
        await deployment.server.runtime.blobs.size(key)
    except NotFound:
        return False
    return True


async def test_racing_uploads_with_one_key_leave_one_blob(deployment: Deployment) -> None:
    results = await asyncio.gather(*(_upload(deployment, "hospital-a", "race-1") for _ in range(3)))
    jobs = {job.job_id for _, job in results}
    assert len(jobs) == 1
    upload_ids = [upload_id for upload_id, _ in results if upload_id]
    assert upload_ids, "every upload answered from the key before storing audio: no race"
    present = [u for u in upload_ids if await _blob_exists(deployment, audio_key(u))]
    # The winner's upload id is its job id; every loser's audio is gone.
    assert present == list(jobs), present
    # Every uploads row that remains points at the one job, in the caller's tenant.
    async with deployment.server.runtime.store.sessions() as session:
        rows = (await session.scalars(select(UploadRow))).all()
    assert {(r.tenant, r.job_id) for r in rows} <= {("hospital-a", present[0])}


async def test_known_key_upload_stores_nothing(deployment: Deployment) -> None:
    first_id, first = await _upload(deployment, "hospital-a", "visit-9")
    second_id, second = await _upload(deployment, "hospital-a", "visit-9")
    assert second.job_id == first.job_id
    if second_id and second_id != first_id:
        assert not await _blob_exists(deployment, audio_key(second_id))
