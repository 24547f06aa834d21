"""DeleteJob erases everything, everywhere, and the embedded data folder is private to the
service (issue 10, finding 5).

Embedded: every byte of the data folder (SQLite file, WAL, SHM, blobs) is searched for a
deleted job's distinctive phrase and patient reference. Scaled out: no row of any table but
the audit log names the job, and no S3 object does.
"""

from __future__ import annotations

import stat
from pathlib import Path

import aioboto3
import grpc
import pytest
from botocore.config import Config
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from sqlalchemy import text

from app.devstack.seaweed import S3Endpoint
from core.db.models import Base
from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment, run_to_end
from tests.e2e.test_jobs import DIALOGUE
from tests.e2e.test_pipeline import upload

PHRASE = "the quokka from zanzibar bit my left thumb"
PATIENT = "MRN-QZ-771903"
FILENAME = "quokka-visit-771903.wav"
KEPT_TABLES = {"audit_events", "alembic_version"}


def _config() -> job_pb2.JobConfig:
    return job_pb2.JobConfig(
        language_code="en",
        encounter=job_pb2.EncounterMetadata(patient_reference=PATIENT),
    )


async def _jobs(deployment: Deployment) -> list[str]:
    """A text job with the phrase and an uploaded job, both finished; their ids."""
    stub, auth = deployment.stub(), deployment.auth()
    text_job = (
        await stub.CreateJob(
            pb.CreateJobRequest(
                transcript_text=DIALOGUE + f"[patient] {PHRASE}.\n", config=_config()
            ),
            metadata=auth,
        )
    ).job
    audio_job, _ = await upload(
        deployment, wav_bytes(seconds=3), pb.UploadConfig(job=_config(), filename=FILENAME)
    )
    for job_id in (text_job.job_id, audio_job.job_id):
        await run_to_end(stub, job_id, auth)
    got = await stub.GetTranscript(pb.GetTranscriptRequest(job_id=text_job.job_id), metadata=auth)
    assert PHRASE in " ".join(s.text for s in got.transcript.segments).lower()
    return [text_job.job_id, audio_job.job_id]


def _matches(folder: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [f"{path.name}: {n!r}" for n in needles if n.lower() in data]
    return found


async def test_delete_erases_every_trace(
    deployment: Deployment, request: pytest.FixtureRequest
) -> None:
    stub, auth = deployment.stub(), deployment.auth()
    job_ids = await _jobs(deployment)
    needles = [PHRASE.encode(), PATIENT.encode(), FILENAME.encode()]
    if deployment.kind == "embedded":
        assert _matches(deployment.settings.data_dir, needles)  # the search can find them
    for job_id in job_ids:
        await stub.DeleteJob(pb.DeleteJobRequest(job_id=job_id), metadata=auth)
    # The upload is gone too (its id is its job's id).
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetUploadStatus(pb.GetUploadStatusRequest(upload_id=job_ids[1]), metadata=auth)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    if deployment.kind == "embedded":
        assert _matches(deployment.settings.data_dir, needles) == []
        return
    engine = deployment.server.runtime.store.engine
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in KEPT_TABLES:
                continue
            rows = (await conn.execute(text(f"SELECT t::text FROM {table.name} t"))).scalars()
            for row in rows:
                assert not any(j in row for j in job_ids), (table.name, row[:200])
                assert PATIENT not in row and FILENAME not in row, table.name
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
    assert not [k for k in keys if any(j in k for j in job_ids)], keys


@pytest.mark.parametrize("kind", ["embedded"])
async def test_data_folder_is_private(deployment: Deployment) -> None:
    await _jobs(deployment)
    data_dir = deployment.settings.data_dir
    wrong = []
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            wrong.append(f"{path.relative_to(data_dir.parent)} {oct(mode)}")
    assert wrong == []
    names = {p.name for p in data_dir.rglob("*")}
    assert {"consulta.db", "consulta.db-wal", "blobs", "audio"} <= names
