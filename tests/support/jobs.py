"""Job rows for tests that write to the job store directly (bypassing the RPCs)."""

from __future__ import annotations

import uuid

from consulta.v1 import job_pb2

from core.codec import config_to_json
from core.db.models import JobRow
from core.domain import JobState


def new_job_row(owner: str = "alice", tenant: str = "clinic-a", *, live: bool = False) -> JobRow:
    """A new job of ``owner`` with default configuration and local engines: a QUEUED text
    job, or with ``live`` a RECEIVING live upload's job (mono audio, none stored yet)."""
    return JobRow(
        id=str(uuid.uuid4()),
        owner=owner,
        tenant=tenant,
        state=(JobState.RECEIVING if live else JobState.QUEUED).value,
        config_json=config_to_json(job_pb2.JobConfig()),
        language="en",
        template="soap",
        transcriber="local",
        summarizer="local",
        source="audio" if live else "text",
        audio_key=None,
        audio_size=0,
        audio_sha256="",
        audio_duration=0.0,
        audio_channels=1 if live else 0,
        idempotency_key=None,
        progress=0.0,
        error_code="",
        error_message="",
        attempts=0,
    )
