"""A live upload's traces: deleting its job while it receives leaves no byte of it anywhere
(a segment no row names included), finishing leaves only the job's audio, and who may see or
resume it is the jobs' rule (owner in tenant; a service role, its tenant)."""

from __future__ import annotations

import aioboto3
import grpc
import pytest
from botocore.config import Config
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from sqlalchemy import text

from app.devstack.seaweed import S3Endpoint
from core.db.models import Base
from core.db.upload_store import segment_folder
from core.errors import NotFound
from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment
from tests.e2e.live_client import LiveStream
from tests.e2e.rpc_errors import failure
from tests.e2e.test_erasure import KEPT_TABLES, _matches

PATIENT = "MRN-LIVE-604417"
FILENAME = "live-visit-604417.wav"


async def test_deleting_a_receiving_live_job_leaves_no_trace(
    deployment: Deployment, request: pytest.FixtureRequest
) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    data = wav_bytes(seconds=2)
    marker = data[2000:2040]  # a stretch of the audio itself
    stream = LiveStream(deployment)
    upload_config = pb.UploadConfig(
        live=True,
        filename=FILENAME,
        job=job_pb2.JobConfig(encounter=job_pb2.EncounterMetadata(patient_reference=PATIENT)),
    )
    _, job = await stream.open(upload_config)
    stream.chunk(data[:24000])
    await stream.next_status()
    # A segment whose stream died between storing it and committing it: no row names it.
    orphan = f"{segment_folder(job.job_id)}/00000002-died"
    await deployment.server.runtime.blobs.put(orphan, data[24000:48000])
    needles = [PATIENT.encode(), FILENAME.encode(), marker, data[30000:30040]]
    if deployment.kind == "embedded":
        assert len(_matches(deployment.settings.data_dir, needles)) >= 3  # the search finds

    await stub.DeleteJob(pb.DeleteJobRequest(job_id=job.job_id), metadata=auth)
    assert failure(await stream.error()).reason == "JOB_CANCELLED"

    if deployment.kind == "embedded":
        assert _matches(deployment.settings.data_dir, needles) == []
        leftovers = [p for p in deployment.settings.data_dir.rglob("*") if job.job_id in p.name]
        assert leftovers == []
        return
    engine = deployment.server.runtime.store.engine
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in KEPT_TABLES:
                continue
            rows = (await conn.execute(text(f"SELECT t::text FROM {table.name} t"))).scalars()
            for row in rows:
                assert job.job_id not in row and PATIENT not in row, table.name
    s3: S3Endpoint = request.getfixturevalue("s3_endpoint")
    bucket = deployment.settings.blob_url.removeprefix("s3://").split("/")[0]
    session = aioboto3.Session(
        aws_access_key_id=s3.access_key, aws_secret_access_key=s3.secret_key, region_name=s3.region
    )
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    async with session.client("s3", endpoint_url=s3.url, config=config) as client:
        listed = await client.list_objects_v2(Bucket=bucket)
        keys = [o["Key"] for o in listed.get("Contents", [])]
        uploads = await client.list_multipart_uploads(Bucket=bucket)
        keys += [u["Key"] for u in uploads.get("Uploads", [])]
    assert not [k for k in keys if job.job_id in k], keys


async def test_finishing_takes_a_segment_no_row_names_along_with_the_others(
    deployment: Deployment,
) -> None:
    blobs = deployment.server.runtime.blobs
    data = wav_bytes(seconds=2)
    stream = LiveStream(deployment)
    _, job = await stream.open(pb.UploadConfig(live=True, filename=FILENAME))
    stream.chunk(data[:24000])
    await stream.next_status()
    orphan = f"{segment_folder(job.job_id)}/00000002-died"
    await blobs.put(orphan, b"audio a dead stream stored")

    stream.chunk(data[24000:], finish=True)
    rest = await stream.until_end()

    assert rest[-1].HasField("job") and rest[-1].job.audio_size_bytes == len(data)
    with pytest.raises(NotFound):
        await blobs.size(orphan)
    if deployment.kind == "embedded":
        folder = deployment.settings.data_dir.rglob(job.job_id)
        assert [p for p in folder if p.is_dir()] == []


async def test_a_live_upload_is_seen_and_resumed_by_whom_its_job_is(
    deployment: Deployment,
) -> None:
    stream = LiveStream(deployment)
    _, job = await stream.open(pb.UploadConfig(live=True))
    stream.close()
    stub = deployment.stub()
    ask = pb.GetUploadStatusRequest(upload_id=job.job_id)
    service = deployment.auth("ehr-bridge", roles=("service",))
    assert (await stub.GetUploadStatus(ask, metadata=service)).upload_id == job.job_id
    for caller in (deployment.auth("bob"), deployment.auth("alice", tenant="clinic-b")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetUploadStatus(ask, metadata=caller)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    stranger = LiveStream(deployment, user="bob")
    stranger.send(pb.UploadAudioRequest(config=pb.UploadConfig(resume_upload_id=job.job_id)))
    assert failure(await stranger.error()).reason == "UPLOAD_NOT_FOUND"
