"""Logs (issue 10 "Logs", issue 12 item 8): JSON lines on request carrying request id, method
and job id, and no transcript text, note text, token or patient reference at any level."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from core.logs import setup_logging
from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment, run_to_end
from tests.e2e.test_pipeline import upload

PATIENT = "PT-QUOKKA-48213"
CLINICIAN = "DR-NARWHAL-7731"
ENCOUNTER = "ENC-AXOLOTL-5520"
DIALOGUE = (
    "[doctor] what brings you in today, the zorblatine refill?\n"
    "[patient] yes, i take zorblatine 40 mg every morning for my quixotic knee pain.\n"
    "[doctor] your pulse is 72. keep the zorblatine and walk every evening.\n"
)


@pytest.fixture
def json_logs(deployment: Deployment) -> Iterator[io.StringIO]:
    """The deployment's logging as ``consulta serve`` sets it up, JSON at DEBUG, into a
    buffer; the previous set-up comes back afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    quieted = {name: logging.getLogger(name).level for name in ("sqlalchemy", "aiosqlite")}
    settings = deployment.settings.model_copy(update={"log_format": "json", "log_level": "DEBUG"})
    buffer = io.StringIO()
    handler = setup_logging(settings, stream=buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for old in handlers:
            if old not in root.handlers:
                root.addHandler(old)
        for name, old_level in quieted.items():
            logging.getLogger(name).setLevel(old_level)


def _config() -> job_pb2.JobConfig:
    return job_pb2.JobConfig(
        encounter=job_pb2.EncounterMetadata(
            patient_reference=PATIENT,
            clinician_reference=CLINICIAN,
            external_encounter_id=ENCOUNTER,
        )
    )


async def _read_everything(deployment: Deployment, job_id: str, auth: Any) -> list[str]:
    """Every read a client makes of a job; returns the texts the job holds."""
    stub = deployment.stub()
    await run_to_end(stub, job_id, auth)
    await stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=auth)
    await stub.ListJobs(pb.ListJobsRequest(), metadata=auth)
    transcript = await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job_id), metadata=auth)
    summary = await stub.GetSummary(pb.GetSummaryRequest(job_id=job_id), metadata=auth)
    texts = [s.text for s in transcript.transcript.segments]
    texts += [n.text for s in summary.summary.sections for n in s.sentences]
    return [t for t in texts if len(t) >= 16]


async def test_no_patient_data_in_logs_at_any_level(
    deployment: Deployment, json_logs: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = deployment.token()
    auth = (("authorization", f"Bearer {token}"),)
    stub = deployment.stub()

    text_job = await stub.CreateJob(
        pb.CreateJobRequest(transcript_text=DIALOGUE, config=_config()), metadata=auth
    )
    secrets = await _read_everything(deployment, text_job.job.job_id, auth)
    audio_job, _ = await upload(deployment, wav_bytes(), pb.UploadConfig(job=_config()))
    secrets += await _read_everything(deployment, audio_job.job_id, auth)
    await stub.DeleteJob(pb.DeleteJobRequest(job_id=text_job.job.job_id), metadata=auth)

    secrets += [PATIENT, CLINICIAN, ENCOUNTER, token, "zorblatine", "quixotic"]
    assert len(secrets) > 8  # transcript segments and note sections were read
    written = json_logs.getvalue()
    records = [
        " ".join(
            [r.getMessage(), repr(r.__dict__), logging.Formatter().formatException(r.exc_info)]
        )
        if r.exc_info
        else " ".join([r.getMessage(), repr(r.__dict__)])
        for r in caplog.records
    ]
    assert records and written
    for secret in secrets:
        assert secret not in written, f"{secret[:20]!r}... was logged"
        for record in records:
            assert secret not in record, f"{secret[:20]!r}... was logged"


async def test_json_lines_carry_the_context(deployment: Deployment, json_logs: io.StringIO) -> None:
    auth = deployment.auth()
    stub = deployment.stub()
    job = (
        await stub.CreateJob(
            pb.CreateJobRequest(transcript_text=DIALOGUE),
            metadata=(*auth, ("x-request-id", "req-from-the-caller-1")),
        )
    ).job
    await run_to_end(stub, job.job_id, auth)
    await stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=auth)

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    calls = [line for line in lines if line.get("method")]
    assert any(
        line["request_id"] == "req-from-the-caller-1" and line["method"].endswith("/CreateJob")
        for line in calls
    )
    assert any(
        line["method"].endswith("/GetSummary") and line.get("job_id") == job.job_id
        for line in calls
    )
    # Lines the worker writes while running the job name it.
    assert any(line.get("job_id") == job.job_id and not line.get("method") for line in lines), [
        line["message"] for line in lines
    ]
