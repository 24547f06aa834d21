"""Per-tenant retention policies and the jobs they have expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from core.db.models import JobRow, RetentionRow
from core.db.retry import before_commit, idempotent
from core.db.store import JobStore, utcnow
from core.domain import TERMINAL_STATES

_TERMINAL = [s.value for s in TERMINAL_STATES]


@dataclass(frozen=True, slots=True)
class Expired:
    """A terminal job past its tenant's retention."""

    job_id: str
    tenant: str
    audio_key: str | None


@idempotent
async def get_policy(store: JobStore, tenant: str) -> RetentionRow | None:
    """The tenant's own policy, or None when the deployment's default applies."""
    async with store.sessions() as session:
        return await session.get(RetentionRow, tenant)


@before_commit
async def set_policy(store: JobStore, tenant: str, seconds: int, by: str) -> RetentionRow:
    """Create or replace the tenant's policy."""
    row = RetentionRow(tenant=tenant, retention_seconds=seconds, updated_at=utcnow(), updated_by=by)
    async with store.sessions.begin() as session:
        await session.merge(row)
    return row


@idempotent
async def expired_jobs(
    store: JobStore, *, default_seconds: float, limit: int, now: datetime | None = None
) -> list[Expired]:
    """Terminal jobs whose last change is older than their tenant's retention (the tenant's
    policy, else ``default_seconds``; zero keeps jobs)."""
    now = now or utcnow()
    async with store.sessions() as session:
        policies = list((await session.scalars(select(RetentionRow))).all())
        rules: list[tuple[ColumnElement[bool], float]] = [
            (JobRow.tenant == p.tenant, float(p.retention_seconds))
            for p in policies
            if p.retention_seconds > 0
        ]
        if default_seconds > 0:
            rules.append((JobRow.tenant.not_in([p.tenant for p in policies]), default_seconds))
        found: list[Expired] = []
        for tenant_clause, seconds in rules:
            if len(found) >= limit:
                break
            rows = await session.execute(
                select(JobRow.id, JobRow.tenant, JobRow.audio_key)
                .where(
                    tenant_clause,
                    JobRow.state.in_(_TERMINAL),
                    JobRow.updated_at < now - timedelta(seconds=seconds),
                )
                .limit(limit - len(found))
            )
            found += [Expired(job_id=r[0], tenant=r[1], audio_key=r[2]) for r in rows]
    return found
