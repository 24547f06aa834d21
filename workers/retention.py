"""Erases jobs past their tenant's retention period: audio first (so a crash in between
leaves a job without audio, which the next sweep finishes, never audio without a job), then
every row about the job; each erasure is audited under ``system:retention``."""

from __future__ import annotations

import logging

from core.db.audit import RETENTION_SUBJECT, AuditEntry, record
from core.db.retention import expired_jobs
from core.db.upload_store import segment_folder
from core.runtime import Runtime

log = logging.getLogger(__name__)

ACTION = "RetentionErase"


async def erase_expired(runtime: Runtime, limit: int = 100) -> int:
    """Erase up to ``limit`` expired jobs; returns how many this call erased."""
    expired = await expired_jobs(
        runtime.store, default_seconds=runtime.settings.default_retention_seconds, limit=limit
    )
    erased = 0
    for job in expired:
        if job.audio_key:
            await runtime.blobs.delete(job.audio_key)
        await runtime.blobs.delete_folder(segment_folder(job.job_id))
        # Two sweepers may find one job; only the one whose DELETE took it records it.
        if await runtime.store.erase(job.job_id):
            erased += 1
            await record(
                runtime.store,
                AuditEntry(
                    subject=RETENTION_SUBJECT,
                    tenant=job.tenant,
                    roles=frozenset(),
                    action=ACTION,
                    job_id=job.job_id,
                    outcome="OK",
                ),
            )
    if erased:
        log.info("retention erased %d finished jobs", erased)
    return erased
