"""Ending a live upload: composing its segments into the job's audio, or throwing them away.

Used by the server (the client sent ``finish``, the job was cancelled or deleted, the first
bytes were not audio) and by the sweeper (the client disappeared: ``live_idle_seconds`` with
no chunk). Every path leaves either a job with its audio or no audio at all, never segments
or rows that nothing names (see server/LIVE.md).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from core.codec import warnings_to_json
from core.db.models import UploadRow
from core.db.store import utcnow
from core.db.upload_store import is_live, segment_folder, segment_keys
from core.domain import AudioWarning
from core.errors import AudioError, ConsultaError, FailedPrecondition, OutOfRange, Unavailable
from core.live_check import StreamedFigures
from core.runtime import Runtime
from core.stored_audio import CheckedAudio, audio_key, check_stored_audio

log = logging.getLogger(__name__)

#: A finishing upload whose finisher stays silent this many idle times is taken over.
STUCK_IDLE_TIMES = 5
#: The stored error code of a live job that ends without usable audio (none, or not audio).
FAILED_CODE = "INVALID_ARGUMENT"


async def delete_segments(runtime: Runtime, row: UploadRow) -> None:
    """Every segment of the upload: those its row names, and one a stream stored and died
    before committing (no row names it, but it holds patient audio all the same)."""
    await runtime.blobs.delete_folder(segment_folder(row.id))


async def fail_live_job(runtime: Runtime, row: UploadRow, code: str, reason: str) -> None:
    """End a live upload without audio: the job FAILED with ``reason``, segments and the
    upload row gone (the job row stays, so the client that was told its id learns why)."""
    recorded = await runtime.store.fail(row.id, code, reason)
    await runtime.publish_events(recorded)
    await delete_segments(runtime, row)
    await runtime.blobs.delete(audio_key(row.id))
    await runtime.uploads.forget(row.id)


async def finish_live_upload(
    runtime: Runtime,
    row: UploadRow,
    *,
    abandoned: bool,
    streamed: StreamedFigures | None = None,
) -> None:
    """Compose a claimed (finishing) live upload into ``audio/<job_id>``, check it, give the
    job its audio fields and mark the upload done; then delete the segments and enqueue the
    job again, so that a worker which was waiting for the audio's end (or none yet) looks.

    ``streamed``: the figures of the whole upload decoded and hashed while it arrived
    (core/live_check.py, by the server that received it from offset 0); the composed
    object is then not decoded. Without them (a resumed stream, the sweeper) it is.

    Raises what the client must hear: AudioError/OutOfRange (the job is then FAILED with
    the same reason), FailedPrecondition when the job was cancelled or deleted meanwhile.
    """
    if row.committed_offset == 0:
        reason = (
            "The live upload was abandoned before any audio arrived."
            if abandoned
            else "The audio is empty (0 bytes)."
        )
        await fail_live_job(runtime, row, FAILED_CODE, reason)
        raise AudioError(reason, reason="EMPTY_AUDIO")
    key = audio_key(row.id)
    await runtime.blobs.compose([k for k, _ in segment_keys(row)], key)
    if streamed is not None and streamed.size == row.committed_offset:
        log.info("live upload %s: figures from its streamed decode, no decode at finish", row.id)
        checked = CheckedAudio(
            key=key, size=streamed.size, sha256=streamed.sha256, info=streamed.info
        )
    else:
        log.info("live upload %s: the composed audio is decoded at finish", row.id)
        try:
            checked = await check_stored_audio(
                runtime.blobs, key, max_seconds=runtime.settings.max_audio_seconds
            )
        except (AudioError, OutOfRange) as exc:
            await fail_live_job(runtime, row, FAILED_CODE, exc.message)
            raise
    warnings = list(checked.info.warnings)
    if abandoned:
        idle = runtime.settings.live_idle_seconds
        warnings.append(
            AudioWarning(
                reason="LIVE_UPLOAD_ABANDONED",
                message=f"The live upload stopped without its last chunk and stayed silent for "
                f"{idle:g} s; the job goes on with the {checked.info.duration:.1f} s received.",
                seconds_kept=checked.info.duration,
            )
        )
    done = await runtime.uploads.finish_live(
        row.id,
        {
            "audio_key": key,
            "audio_size": checked.size,
            "audio_sha256": checked.sha256,
            "audio_duration": checked.info.duration,
            "audio_channels": checked.info.channels,
            "warnings_json": warnings_to_json(warnings),
        },
    )
    if not done:
        # The job ended (cancelled, deleted, failed) while composing: what was made goes too.
        await runtime.blobs.delete(key)
        await delete_segments(runtime, row)
        await runtime.uploads.forget(row.id)
        raise FailedPrecondition(
            f"Job {row.id} ended while its audio was received.", reason="JOB_CANCELLED"
        )
    await delete_segments(runtime, row)
    await runtime.enqueue(row.id)


async def discard_live_upload(runtime: Runtime, job_id: str) -> None:
    """Erase an unfinished live upload's segments and row (its job was cancelled, failed or
    is being deleted). A stream still receiving it fails its next commit and deletes its own
    segment; a finisher fails its last write and deletes what it composed."""
    row = await runtime.uploads.get(job_id)
    if row is None or not is_live(row) or row.job_id:
        return
    await delete_segments(runtime, row)
    await runtime.blobs.delete(audio_key(job_id))
    await runtime.uploads.forget(job_id)


async def finish_idle_live_uploads(runtime: Runtime, limit: int = 50) -> int:
    """Finish the live uploads whose client disappeared (sweeper); how many were taken."""
    idle = runtime.settings.live_idle_seconds
    now = utcnow()
    rows = await runtime.uploads.claim_idle_live(
        idle_since=now - timedelta(seconds=idle),
        stuck_since=now - timedelta(seconds=idle * STUCK_IDLE_TIMES),
        limit=limit,
    )
    for row in rows:
        try:
            await asyncio.shield(finish_live_upload(runtime, row, abandoned=True))
        except Unavailable:
            # It stays finishing; a sweep after STUCK_IDLE_TIMES idle times takes it again.
            log.warning("finishing abandoned live upload %s failed; will retry", row.id)
        except ConsultaError as exc:
            log.info("abandoned live upload %s ended without audio (%s)", row.id, exc.reason)
    if rows:
        log.info("sweeper finished %d abandoned live uploads", len(rows))
    return len(rows)
