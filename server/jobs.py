"""Creating jobs: from checked audio in the blob store, or from a text transcript."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from consulta.v1 import job_pb2

from core.audio import AudioInfo, probe
from core.auth import Principal
from core.blobstore.base import BlobStore
from core.codec import (
    TEMPLATE_FROM_PB,
    config_to_json,
    job_to_pb,
    state_event,
    warnings_to_json,
)
from core.db.models import JobRow
from core.domain import JobState, Transcript
from core.runtime import Runtime
from server import metrics


@dataclass(frozen=True, slots=True)
class CheckedAudio:
    """Audio stored under ``key`` that decoded cleanly."""

    key: str
    size: int
    sha256: str
    info: AudioInfo


def new_job_id() -> str:
    return str(uuid.uuid4())


def audio_key(job_or_upload_id: str) -> str:
    return f"audio/{job_or_upload_id}"


async def check_stored_audio(
    blobs: BlobStore,
    key: str,
    *,
    max_seconds: float,
    sha256: str | None = None,
    size: int | None = None,
) -> CheckedAudio:
    """Decode the stored object fully (AudioError when bad, OutOfRange when longer than
    ``max_seconds``) and know its hash and size.

    A store with local files is decoded in place; otherwise the object is streamed once to a
    temporary file (never to memory), hashed on the way. ``sha256``/``size`` computed while
    receiving spare a second read. Decoding runs in a thread.
    """
    path = blobs.local_path(key)
    if path is not None:
        if sha256 is not None and size is not None:
            known = sha256, size
        else:
            known = await asyncio.to_thread(_hash_file, path)
        info = await asyncio.to_thread(probe, path, max_seconds=max_seconds)
        return CheckedAudio(key=key, size=known[1], sha256=known[0], info=info)
    digest = hashlib.sha256()
    total = 0
    with tempfile.TemporaryDirectory(prefix="consulta-probe-") as folder:
        copy = Path(folder) / "audio"
        out: BinaryIO = await asyncio.to_thread(copy.open, "wb")
        try:
            async for chunk in blobs.iter_bytes(key):
                digest.update(chunk)
                total += len(chunk)
                await asyncio.to_thread(out.write, chunk)
        finally:
            await asyncio.to_thread(out.close)
        info = await asyncio.to_thread(probe, copy, max_seconds=max_seconds)
    return CheckedAudio(key=key, size=total, sha256=digest.hexdigest(), info=info)


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


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
) -> tuple[job_pb2.Job, bool]:
    """Record a QUEUED job, publish it, and return it with whether it is new.

    For a repeated idempotency key the first job comes back and nothing else happens.
    """
    transcriber, summarizer = _engines(config, runtime)
    row = JobRow(
        id=job_id or new_job_id(),
        owner=principal.subject,
        tenant=principal.tenant,
        state=JobState.QUEUED.value,
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
    stored, recorded = await runtime.store.create_job(row, state_event(JobState.QUEUED), transcript)
    if recorded is None:
        return job_to_pb(stored), False
    metrics.JOBS_CREATED.labels(source=row.source).inc()
    await runtime.publish_events(recorded)
    await runtime.enqueue(stored.id)
    return job_to_pb(stored), True
