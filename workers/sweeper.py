"""Publishes again the jobs the queue lost track of: QUEUED ones nobody picked up in time
(a publish that failed, a broker that lost a message) and running ones whose worker died
(lease expired). Duplicates are harmless: claiming is conditional. It also aborts abandoned
batch uploads and finishes live uploads whose client disappeared (core/live_finish.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from core.db.store import utcnow
from core.live_finish import finish_idle_live_uploads
from core.runtime import Runtime
from workers import metrics
from workers.retention import erase_expired

log = logging.getLogger(__name__)


async def expire_uploads(runtime: Runtime, limit: int = 100) -> int:
    """Abort uploads abandoned longer than ``upload_expiry_seconds``: their parts are
    deleted from the blob store and they can no longer be resumed."""
    untouched_since = utcnow() - timedelta(seconds=runtime.settings.upload_expiry_seconds)
    expired = await runtime.uploads.claim_stale(untouched_since=untouched_since, limit=limit)
    for upload in expired:
        await runtime.blobs.abort_multipart(upload.blob_key, upload.multipart_handle)
        metrics.UPLOADS_EXPIRED.inc()
    if expired:
        log.info("sweeper aborted %d abandoned uploads", len(expired))
    return len(expired)


async def sweep_once(runtime: Runtime, limit: int = 500) -> tuple[int, int]:
    settings = runtime.settings
    stale, expired = await runtime.store.due_for_republish(
        queued_before=utcnow() - timedelta(seconds=settings.requeue_after_seconds), limit=limit
    )
    for job_id in stale:
        if await runtime.enqueue(job_id):
            metrics.REPUBLISHED.labels(kind="queued").inc()
    for job_id in expired:
        if await runtime.enqueue(job_id):
            metrics.REPUBLISHED.labels(kind="expired").inc()
    if stale or expired:
        log.info("sweeper republished %d queued and %d expired jobs", len(stale), len(expired))
    return len(stale), len(expired)


async def run_sweeper(runtime: Runtime, stop: asyncio.Event) -> None:
    interval = runtime.settings.sweep_interval_seconds
    while not stop.is_set():
        try:
            await sweep_once(runtime)
            await expire_uploads(runtime)
            await finish_idle_live_uploads(runtime)
            await erase_expired(runtime)
        except Exception:
            log.warning("sweep failed; trying again in %.0fs", interval, exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
