"""The audit log: append and read, nothing else (no update or delete exists, and the
database refuses them). Entries name who, tenant, action, job and outcome; never patient data.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from core.db.models import AuditRow
from core.db.retry import before_commit, idempotent
from core.db.store import JobStore, utcnow
from core.errors import InvalidArgument

#: The subject the retention sweeper records its erasures under.
RETENTION_SUBJECT = "system:retention"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One thing to record."""

    subject: str
    tenant: str
    roles: frozenset[str]
    action: str
    job_id: str
    outcome: str


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of a page of the audit log; empty or None fields do not filter."""

    tenant: str
    job_id: str = ""
    subject: str = ""
    start: datetime | None = None
    end: datetime | None = None


def audit_values(entry: AuditEntry) -> dict[str, object]:
    """``entry`` as a row's column values, stamped now (naive UTC)."""
    return {
        "at": utcnow(),
        "subject": entry.subject[:255],
        "tenant": entry.tenant[:255],
        "roles": ",".join(sorted(entry.roles))[:255],
        "action": entry.action[:64],
        "job_id": entry.job_id[:64],
        "outcome": entry.outcome[:32],
    }


@before_commit
async def append(store: JobStore, rows: Sequence[dict[str, object]]) -> None:
    """Append ``rows`` (:func:`audit_values`) in one transaction, in their order: SQLAlchemy
    Core, no ORM session or unit of work (profile: AsyncSessionTransaction.__aexit__,
    UOWTransaction.execute in bench/results/profile-gettranscript-h20-before.txt)."""
    async with store.engine.begin() as conn:
        await conn.execute(insert(AuditRow), list(rows))


async def record(store: JobStore, entry: AuditEntry) -> None:
    """Append ``entry``, stamped now (naive UTC)."""
    await append(store, [audit_values(entry)])


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode()


def _decode(token: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(
            "The page token is not one this server issued.", reason="BAD_PAGE_TOKEN"
        ) from exc


@idempotent
async def list_events(
    store: JobStore, query: AuditQuery, *, limit: int, page_token: str
) -> tuple[list[AuditRow], str]:
    """A page of the tenant's audit log, newest first, and the token of the next page."""
    statement = select(AuditRow).where(AuditRow.tenant == query.tenant)
    if query.job_id:
        statement = statement.where(AuditRow.job_id == query.job_id)
    if query.subject:
        statement = statement.where(AuditRow.subject == query.subject)
    if query.start is not None:
        statement = statement.where(AuditRow.at >= query.start)
    if query.end is not None:
        statement = statement.where(AuditRow.at < query.end)
    if page_token:
        statement = statement.where(AuditRow.id < _decode(page_token))
    statement = statement.order_by(AuditRow.id.desc()).limit(limit + 1)
    async with store.sessions() as session:
        rows = list((await session.scalars(statement)).all())
    if len(rows) > limit:
        return rows[:limit], _encode(rows[limit - 1].id)
    return rows, ""
