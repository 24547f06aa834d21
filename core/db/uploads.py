"""Reads and writes of the uploads table that are not one stream's own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from core.db.models import UploadRow
from core.db.store import JobStore


async def claim_stale_uploads(
    store: JobStore, *, untouched_since: datetime, limit: int
) -> list[UploadRow]:
    """Unfinished uploads nobody touched since ``untouched_since``, removed from the table
    (one conditional DELETE each, so two sweepers never both take one)."""
    async with store.sessions() as session:
        candidates = list(
            (
                await session.scalars(
                    select(UploadRow)
                    .where(UploadRow.complete.is_(False), UploadRow.updated_at < untouched_since)
                    .limit(limit)
                )
            ).all()
        )
    taken = []
    for row in candidates:
        async with store.sessions.begin() as session:
            gone = await session.scalar(
                delete(UploadRow)
                .where(
                    UploadRow.id == row.id,
                    UploadRow.complete.is_(False),
                    UploadRow.updated_at < untouched_since,
                )
                .returning(UploadRow.id)
            )
        if gone is not None:
            taken.append(row)
    return taken
