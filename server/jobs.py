"""Creating jobs: from checked audio in the blob store, or from a text transcript."""

from __future__ import annotations

import uuid

from consulta.v1 import job_pb2

from core.auth import Principal
from core.codec import (
    TEMPLATE_FROM_PB,
    config_to_json,
    job_to_pb,
    state_event,
    warnings_to_json,
)
from core.db.models import JobRow, UploadRow
from core.domain import JobState, Transcript
from core.runtime import Runtime
from core.stored_audio import CheckedAudio
from server import metrics


def new_job_id() -> str:
    return str(uuid.uuid4())


def _engines(config: job_pb2.JobConfig, runtime: Runtime) -> tuple[str, str]:
    hints = config.engine_hints
    return (
        hints.transcriber or runtime.settings.transcriber,
        hints.summarizer or runtime.settings.summarizer,
    )


async def create_job(
    runtime: Runtime,
    principal: Principal,
    config: job_pb2.JobConfig,
    *,
    job_id: str | None = None,
    audio: CheckedAudio | None = None,
    transcript: Transcript | None = None,
    filename: str = "",
    live_upload: UploadRow | None = None,
) -> tuple[job_pb2.Job, bool]:
    """Record a job, publish it, and return it with whether it is new.

    The job is QUEUED, or RECEIVING with ``live_upload`` (a live upload's row, inserted in
    the same transaction; the job has no audio until the upload finishes). For a repeated
    idempotency key the first job comes back and nothing else happens.
    """
    state = JobState.RECEIVING if live_upload is not None else JobState.QUEUED
    transcriber, summarizer = _engines(config, runtime)
    row = JobRow(
        id=job_id or new_job_id(),
        owner=principal.subject,
        tenant=principal.tenant,
        state=state.value,
        config_json=config_to_json(config),
        language=config.language_code or (transcript.language if transcript else ""),
        template=TEMPLATE_FROM_PB[config.template].value,
        transcriber=transcriber,
        summarizer=summarizer,
        source="text" if transcript is not None else "audio",
        audio_key=audio.key if audio else None,
        audio_size=audio.size if audio else 0,
        audio_sha256=audio.sha256 if audio else "",
        audio_duration=audio.info.duration if audio else 0.0,
        audio_channels=audio.info.channels if audio else 0,
        warnings_json=warnings_to_json(audio.info.warnings if audio else ()),
        filename=filename,
        idempotency_key=config.idempotency_key or None,
        progress=0.0,
        error_code="",
        error_message="",
        attempts=0,
    )
    stored, recorded = await runtime.store.create_job(
        row, state_event(state), transcript, upload=live_upload
    )
    if recorded is None:
        return job_to_pb(stored), False
    metrics.JOBS_CREATED.labels(source=row.source).inc()
    await runtime.publish_events(recorded)
    await runtime.enqueue(stored.id)
    return job_to_pb(stored), True
