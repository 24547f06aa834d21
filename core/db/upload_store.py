"""Every read and write of the uploads table: a batch upload's parts, a live upload's
segments, GetUploadStatus, the staging limit and the sweeper's claims.

An upload row is in one of three states:

- receiving: ``complete`` false. Bytes are committed by conditional UPDATEs that name the
  offset they follow, so two streams on one upload can never both commit.
- finishing (live uploads only): ``complete`` true and ``job_id`` empty. Exactly one process
  (the server that got ``finish``, or a sweeper for an abandoned upload) took it there with
  one conditional UPDATE, and composes its segments; no chunk commits any more.
- done: ``complete`` true and ``job_id`` set.

A live upload (``multipart_handle`` is :data:`LIVE_HANDLE`) has no multipart upload: its
``parts_json`` lists its segments as ``[size, tag]`` pairs, segment ``n`` being the object
``live/<id>/<n:08d>-<tag>`` (the tag names the stream that wrote it, so two streams on one
upload never overwrite each other's object; see server/LIVE.md). Who may see an upload is
the jobs' rule (core/db/reads.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from core.auth import Principal
from core.db.models import JobRow, UploadRow
from core.db.retry import before_commit, idempotent
from core.db.store import utcnow
from core.db.visibility import visible_to
from core.domain import JobState
from core.errors import NotFound

#: ``multipart_handle`` of a live upload, which stores segments instead of parts.
LIVE_HANDLE = "live"


class _Refused(Exception):
    """Rolls back a transaction whose second condition failed."""


def segment_folder(upload_id: str) -> str:
    """The blob folder that holds a live upload's segments, and nothing else."""
    return f"live/{upload_id}"


def segment_key(upload_id: str, number: int, tag: str) -> str:
    """The blob key of a live upload's segment ``number`` (from 1) written by stream ``tag``."""
    return f"{segment_folder(upload_id)}/{number:08d}-{tag}"


def segments(row: UploadRow) -> list[tuple[int, str]]:
    """A live upload's committed segments, in order: (size, tag)."""
    return [(int(size), str(tag)) for size, tag in json.loads(row.parts_json or "[]")]


def segment_keys(row: UploadRow) -> list[tuple[str, int]]:
    """A live upload's committed segments, in order: (blob key, size)."""
    return [
        (segment_key(row.id, number, tag), size)
        for number, (size, tag) in enumerate(segments(row), start=1)
    ]


def is_live(row: UploadRow) -> bool:
    return row.multipart_handle == LIVE_HANDLE


class UploadStore:
    """The uploads table behind one engine. ``job_changed`` is the job store's: the one
    write here that changes a job (a live upload's finish) tells its job cache."""

    def __init__(
        self, engine: AsyncEngine, job_changed: Callable[[str], None] | None = None
    ) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._job_changed = job_changed

    # -- reads -------------------------------------------------------------------------------

    @idempotent
    async def get(self, upload_id: str) -> UploadRow | None:
        async with self.sessions() as session:
            return await session.get(UploadRow, upload_id)

    @idempotent
    async def get_visible(self, upload_id: str, principal: Principal) -> UploadRow:
        """The upload when ``principal`` may see it (the jobs' rule); NotFound otherwise."""
        async with self.sessions() as session:
            row = await session.scalar(
                select(UploadRow).where(
                    UploadRow.id == upload_id,
                    visible_to(principal, UploadRow.owner, UploadRow.tenant),
                )
            )
        if row is None:
            raise NotFound(f"Upload {upload_id} was not found.", reason="UPLOAD_NOT_FOUND")
        return row

    @idempotent
    async def staged_bytes(self, principal: Principal, excluding: str | None = None) -> int:
        """Committed bytes of the caller's unfinished uploads, abandoned ones included, but
        for upload ``excluding`` (whose stream counts its own)."""
        query = select(func.coalesce(func.sum(UploadRow.committed_offset), 0)).where(
            UploadRow.tenant == principal.tenant,
            UploadRow.owner == principal.subject,
            UploadRow.complete.is_(False),
        )
        if excluding is not None:
            query = query.where(UploadRow.id != excluding)
        async with self.sessions() as session:
            return int((await session.execute(query)).scalar_one())

    # -- batch uploads -----------------------------------------------------------------------

    @before_commit
    async def add(self, row: UploadRow) -> None:
        async with self.sessions.begin() as session:
            session.add(row)

    @before_commit
    async def commit_part(
        self, upload_id: str, committed_offset: int, parts_json: str, *, after: int
    ) -> bool:
        """Record a written part: the upload's committed offset moves from ``after`` to
        ``committed_offset``. False, writing nothing, when the upload is no longer at
        ``after``: a resume on another server went on from there (or the upload completed
        or was removed), and a late write of the stream before it must not move the offset
        back nor replace the parts recorded since."""
        async with self.sessions.begin() as session:
            moved = await session.scalar(
                update(UploadRow)
                .where(
                    UploadRow.id == upload_id,
                    UploadRow.complete.is_(False),
                    UploadRow.committed_offset == after,
                )
                .values(
                    committed_offset=committed_offset, parts_json=parts_json, updated_at=utcnow()
                )
                .returning(UploadRow.id)
            )
            return moved is not None

    @before_commit
    async def mark_complete(self, upload_id: str, job_id: str) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                update(UploadRow)
                .where(UploadRow.id == upload_id)
                .values(complete=True, job_id=job_id, updated_at=utcnow())
            )

    @before_commit
    async def forget(self, upload_id: str) -> None:
        async with self.sessions.begin() as session:
            await session.execute(delete(UploadRow).where(UploadRow.id == upload_id))

    async def claim_stale(self, *, untouched_since: datetime, limit: int) -> list[UploadRow]:
        """Unfinished batch uploads nobody touched since ``untouched_since``, removed from the
        table (one conditional DELETE each, so two sweepers never both take one). Live
        uploads are finished instead (:meth:`claim_idle_live`)."""
        taken = []
        for row in await self._stale(untouched_since, limit):
            if await self._take_stale(row.id, untouched_since):
                taken.append(row)
        return taken

    @idempotent
    async def _stale(self, untouched_since: datetime, limit: int) -> list[UploadRow]:
        async with self.sessions() as session:
            return list(
                (
                    await session.scalars(
                        select(UploadRow)
                        .where(
                            UploadRow.complete.is_(False),
                            UploadRow.updated_at < untouched_since,
                            UploadRow.multipart_handle != LIVE_HANDLE,
                        )
                        .limit(limit)
                    )
                ).all()
            )

    @before_commit
    async def _take_stale(self, upload_id: str, untouched_since: datetime) -> bool:
        async with self.sessions.begin() as session:
            gone = await session.scalar(
                delete(UploadRow)
                .where(
                    UploadRow.id == upload_id,
                    UploadRow.complete.is_(False),
                    UploadRow.updated_at < untouched_since,
                )
                .returning(UploadRow.id)
            )
        return gone is not None

    # -- live uploads ------------------------------------------------------------------------

    @before_commit
    async def commit_segment(
        self, upload_id: str, after: int, committed: list[tuple[int, str]]
    ) -> bool:
        """Record the segments ``committed`` (all of them, the new one last) and the
        committed offset they make, when the upload still stands at ``after`` bytes and
        receives, and its job is still RECEIVING. False otherwise (cancelled, deleted, finished, or
        another stream committed first): the caller's segment is then nobody's.

        The job row is read FOR SHARE in the same transaction, so a cancel either comes
        before (and this fails) or after (and sees this segment in the row it erases).
        """
        try:
            async with self.sessions.begin() as session:
                done = await session.scalar(
                    update(UploadRow)
                    .where(
                        UploadRow.id == upload_id,
                        UploadRow.complete.is_(False),
                        UploadRow.committed_offset == after,
                    )
                    .values(
                        committed_offset=sum(size for size, _ in committed),
                        parts_json=json.dumps(committed),
                        updated_at=utcnow(),
                    )
                    .returning(UploadRow.id)
                )
                if done is None:
                    return False
                state = await session.scalar(
                    select(JobRow.state).where(JobRow.id == upload_id).with_for_update(read=True)
                )
                if state != JobState.RECEIVING.value:
                    raise _Refused
        except _Refused:
            return False
        return True

    async def claim_finish(self, upload_id: str, committed_offset: int) -> UploadRow | None:
        """Take a receiving live upload that stands at ``committed_offset`` to finishing;
        None when it is not there (cancelled, finished by a sweeper, or moved on)."""
        return await self._claim(
            UploadRow.id == upload_id,
            UploadRow.complete.is_(False),
            UploadRow.committed_offset == committed_offset,
        )

    async def claim_idle_live(
        self, *, idle_since: datetime, stuck_since: datetime, limit: int
    ) -> list[UploadRow]:
        """Live uploads to finish for their absent client: receiving with no commit since
        ``idle_since``, or finishing since ``stuck_since`` (their finisher died). Each is
        claimed by one conditional UPDATE, so two sweepers never both take one."""
        idle = (UploadRow.complete.is_(False) & (UploadRow.updated_at < idle_since)) | (
            UploadRow.complete.is_(True) & (UploadRow.updated_at < stuck_since)
        )
        taken = []
        for upload_id in await self._idle_live(idle, limit):
            row = await self._claim(UploadRow.id == upload_id, UploadRow.job_id.is_(None), idle)
            if row is not None:
                taken.append(row)
        return taken

    @idempotent
    async def _idle_live(self, idle: ColumnElement[bool], limit: int) -> list[str]:
        async with self.sessions() as session:
            return list(
                (
                    await session.scalars(
                        select(UploadRow.id)
                        .where(
                            UploadRow.multipart_handle == LIVE_HANDLE,
                            UploadRow.job_id.is_(None),
                            idle,
                        )
                        .limit(limit)
                    )
                ).all()
            )

    @before_commit
    async def _claim(self, *conditions: object) -> UploadRow | None:
        async with self.sessions.begin() as session:
            claimed = await session.scalar(
                update(UploadRow)
                .where(UploadRow.multipart_handle == LIVE_HANDLE, *conditions)  # type: ignore[arg-type]
                .values(complete=True, updated_at=utcnow())
                .returning(UploadRow.id)
            )
            if claimed is None:
                return None
            return await session.get(UploadRow, claimed)

    @before_commit
    async def finish_live(self, upload_id: str, job_values: dict[str, object]) -> bool:
        """Give a finishing live upload's job its audio (``job_values``: the audio columns)
        and mark the upload done, in one transaction; False when the job is no longer
        RECEIVING (cancelled or deleted meanwhile) or another finisher was first."""
        now = utcnow()
        try:
            async with self.sessions.begin() as session:
                await self._finish_live(session, upload_id, job_values, now)
        except _Refused:
            return False
        finally:
            if self._job_changed is not None:
                self._job_changed(upload_id)
        return True

    @staticmethod
    async def _finish_live(
        session: AsyncSession, upload_id: str, job_values: dict[str, object], now: datetime
    ) -> None:
        job = await session.scalar(
            update(JobRow)
            .where(JobRow.id == upload_id, JobRow.state == JobState.RECEIVING.value)
            .values(**job_values, updated_at=now)
            .returning(JobRow.id)
        )
        done = await session.scalar(
            update(UploadRow)
            .where(
                UploadRow.id == upload_id,
                UploadRow.complete.is_(True),
                UploadRow.job_id.is_(None),
            )
            .values(job_id=upload_id, updated_at=now)
            .returning(UploadRow.id)
        )
        if job is None or done is None:
            raise _Refused
