"""Every write of jobs, transcripts, notes and job events, and the reads workers and WatchJob
make (the hot unary reads are in core/db/reads.py).

Writes that change a job are single conditional UPDATEs, so that two processes can never both
act on one job: a worker's writes hold only while it owns the lease and the job is not
terminal; a cancel holds only while the job is not terminal. The same UPDATE allocates the
job's event sequence numbers, so events are numbered without gaps in any database.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from sqlalchemy import Executable, Row, Table, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.auth import Principal
from core.db.held import TERMINAL, held_by
from core.db.job_cache import JobCache
from core.db.models import EventRow, JobRow, SummaryRow, TranscriptRow, UploadRow
from core.db.one_statement import one_statement_record, result_values
from core.db.reads import JobReads
from core.db.result_rows import summary_row, transcript_row, upsert
from core.db.retry import before_commit, idempotent
from core.domain import RUNNING_STATES, JobState, Note, Transcript

log = logging.getLogger(__name__)

_JOBS = cast(Table, JobRow.__table__)
_EVENTS = cast(Table, EventRow.__table__)
_RUNNING = [s.value for s in RUNNING_STATES]
#: Jobs waiting for a worker: QUEUED, or a live job whose upload is done and nobody holds.
_WAITING = or_(
    JobRow.state == JobState.QUEUED.value,
    and_(
        JobRow.state == JobState.RECEIVING.value,
        JobRow.audio_key.is_not(None),
        JobRow.lease_owner.is_(None),
    ),
)


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Recorded:
    """Events a write stored, serialized and numbered, ready to publish on the bus."""

    job_id: str
    events: tuple[bytes, ...]
    #: The job's event sequence after the write (0 when not known).
    seq: int = 0


def _stamp(events: Sequence[pb.JobEvent], last_seq: int, now: datetime) -> list[pb.JobEvent]:
    first = last_seq - len(events) + 1
    stamped = []
    for offset, event in enumerate(events):
        copy = pb.JobEvent()
        copy.CopyFrom(event)
        copy.sequence = first + offset
        copy.create_time.FromDatetime(now.replace(tzinfo=UTC))
        stamped.append(copy)
    return stamped


class JobStore(JobReads):
    """The jobs database behind one engine. Every method that changes or removes a job does
    it in :meth:`_changing`, which tells the job cache when the transaction ends, so that the
    cache is exact for writes made through this store (core/db/job_cache.py). Creating needs
    none: a missing job is never cached."""

    def __init__(self, engine: AsyncEngine, cache: JobCache | None = None) -> None:
        super().__init__(engine, cache)
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def _changing(self, job_id: str) -> AsyncIterator[AsyncSession]:
        """A transaction that changes ``job_id``; the cache forgets it once it ends, whether
        committed, refused or failed."""
        try:
            async with self.sessions.begin() as session:
                yield session
        finally:
            self.job_changed(job_id)

    # -- creation and reads (server) -------------------------------------------------------

    @before_commit
    async def create_job(
        self,
        job: JobRow,
        first_event: pb.JobEvent,
        transcript: Transcript | None = None,
        upload: UploadRow | None = None,
    ) -> tuple[JobRow, Recorded | None]:
        """Insert a job with its first event (and a given transcript, for text jobs, or the
        upload row of a live upload, in the same transaction).

        For a repeated idempotency key, returns the existing job and no events (and inserts
        no upload row).
        """
        now = utcnow()
        job.created_at = job.updated_at = now
        job.event_seq = 1
        (event,) = _stamp([first_event], 1, now)
        payload = event.SerializeToString()
        try:
            async with self.sessions.begin() as session:
                session.add(job)
                await session.flush()
                session.add(EventRow(job_id=job.id, seq=1, payload=payload, created_at=now))
                if transcript is not None:
                    session.add(transcript_row(job.id, transcript, now))
                if upload is not None:
                    upload.created_at = upload.updated_at = now
                    session.add(upload)
        except IntegrityError:
            if not job.idempotency_key:
                raise
            async with self.sessions() as session:
                existing = await session.scalar(
                    select(JobRow).where(
                        JobRow.tenant == job.tenant,
                        JobRow.owner == job.owner,
                        JobRow.idempotency_key == job.idempotency_key,
                    )
                )
            if existing is None:
                raise
            return existing, None
        return job, Recorded(job.id, (payload,))

    @idempotent
    async def find_by_idempotency_key(self, principal: Principal, key: str) -> JobRow | None:
        async with self.sessions() as session:
            return await session.scalar(
                select(JobRow).where(
                    JobRow.owner == principal.subject,
                    JobRow.tenant == principal.tenant,
                    JobRow.idempotency_key == key,
                )
            )

    @idempotent
    async def get(self, job_id: str) -> JobRow | None:
        async with self.sessions() as session:
            return await session.get(JobRow, job_id)

    @idempotent
    async def events_after(self, job_id: str, after: int, limit: int = 500) -> list[EventRow]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(EventRow)
                .where(EventRow.job_id == job_id, EventRow.seq > after)
                .order_by(EventRow.seq)
                .limit(limit)
            )
            return list(rows.all())

    # -- caller's changes (server) ---------------------------------------------------------

    async def cancel(self, job_id: str, principal: Principal, reason: str) -> Recorded | None:
        """Move a visible, unfinished job to CANCELLED; None when it was already terminal."""
        await self.get_visible(job_id, principal)
        event = pb.JobEvent(
            state_changed=pb.StateChanged(state=job_pb2.JOB_STATE_CANCELLED, reason=reason)
        )
        return await self._terminal(job_id, JobState.CANCELLED, "CANCELLED", reason, event)

    async def fail(self, job_id: str, code: str, reason: str) -> Recorded | None:
        """Move an unfinished job to FAILED whoever holds it (the consumer's last word)."""
        event = pb.JobEvent(
            state_changed=pb.StateChanged(state=job_pb2.JOB_STATE_FAILED, reason=reason)
        )
        return await self._terminal(job_id, JobState.FAILED, code, reason, event)

    @before_commit
    async def _terminal(
        self, job_id: str, state: JobState, code: str, reason: str, event: pb.JobEvent
    ) -> Recorded | None:
        now = utcnow()
        async with self._changing(job_id) as session:
            seq = await session.scalar(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state.not_in(TERMINAL))
                .values(
                    state=state.value,
                    error_code=code,
                    error_message=reason,
                    event_seq=JobRow.event_seq + 1,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
                .returning(JobRow.event_seq)
            )
            if seq is None:
                return None
            (stamped,) = _stamp([event], seq, now)
            payload = stamped.SerializeToString()
            session.add(EventRow(job_id=job_id, seq=seq, payload=payload, created_at=now))
        return Recorded(job_id, (payload,))

    @before_commit
    async def erase(self, job_id: str) -> bool:
        """Remove every row about a job: events, transcript, note, the uploads that name it,
        and the job itself; False when the job was already gone. On SQLite the WAL is then
        checkpointed and truncated, so that with ``secure_delete`` no copy of the erased pages
        stays in the WAL file either."""
        async with self._changing(job_id) as session:
            await session.execute(delete(EventRow).where(EventRow.job_id == job_id))
            await session.execute(delete(TranscriptRow).where(TranscriptRow.job_id == job_id))
            await session.execute(delete(SummaryRow).where(SummaryRow.job_id == job_id))
            await session.execute(
                delete(UploadRow).where(or_(UploadRow.job_id == job_id, UploadRow.id == job_id))
            )
            gone = await session.execute(delete(JobRow).where(JobRow.id == job_id))
        if self.engine.dialect.name == "sqlite":
            await self._checkpoint()
        return bool(gone.rowcount)  # type: ignore[attr-defined]

    async def _checkpoint(self) -> None:
        async with self.engine.connect() as conn:
            result = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        if result[0]:  # (busy, log pages, checkpointed pages)
            # A reader held the WAL past the busy timeout: the pages go at the next checkpoint.
            log.warning("WAL checkpoint after an erase was blocked by a reader")

    # -- worker ----------------------------------------------------------------------------

    @before_commit
    async def claim(self, job_id: str, worker_id: str, lease_seconds: float) -> JobRow | None:
        """Take the job if nobody holds it or its holder's lease expired; None otherwise.

        A redelivered message for a job someone else holds, or that is finished, claims
        nothing: that is what makes a duplicate message harmless.

        One UPDATE ... RETURNING the whole row: no session and no second SELECT for the row
        (the profile's JobStore.claim -> Session.get frames).
        """
        now = utcnow()
        row = await self._single(
            job_id,
            update(_JOBS)
            .where(
                _JOBS.c.id == job_id,
                _JOBS.c.state.not_in(TERMINAL),
                or_(_JOBS.c.lease_owner.is_(None), _JOBS.c.lease_expires_at < now),
            )
            .values(
                lease_owner=worker_id,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=_JOBS.c.attempts + 1,
                updated_at=now,
            )
            .returning(*_JOBS.c),
        )
        return None if row is None else JobRow(**row._mapping)

    async def _single(
        self, job_id: str, statement: Executable, params: dict[str, Any] | None = None
    ) -> Row[Any] | None:
        """One write statement that changes ``job_id``, in a transaction (lost before COMMIT,
        it was rolled back, so :func:`before_commit` may run it again; lost in autocommit, its
        outcome is unknown), and its first row; the cache then forgets the job."""
        try:
            async with self.engine.begin() as conn:
                return (await conn.execute(statement, params)).first()
        finally:
            self.job_changed(job_id)

    @before_commit
    async def record(
        self,
        job_id: str,
        worker_id: str,
        events: Sequence[pb.JobEvent],
        *,
        lease_seconds: float,
        state: JobState | None = None,
        progress: float | None = None,
        language: str | None = None,
        error: tuple[str, str] | None = None,
        transcript: Transcript | None = None,
        note: Note | None = None,
        expected_seq: int | None = None,
    ) -> Recorded | None:
        """Store a worker's events and results in one transaction, extending its lease.

        None when the worker no longer owns the job (cancelled, or its lease was taken over):
        the worker must then stop without writing anything else. ``expected_seq``, the
        job's event sequence as the worker last saw it (Recorded.seq), lets PostgreSQL
        write everything in one statement (core/db/one_statement.py).
        """
        now = utcnow()
        values: dict[str, object] = {
            "event_seq": _JOBS.c.event_seq + len(events),
            "updated_at": now,
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
        }
        if state is not None:
            values["state"] = state.value
            if state.terminal:
                values["lease_owner"] = None
                values["lease_expires_at"] = None
        if progress is not None:
            values["progress"] = progress
        if language is not None:
            values["language"] = language
        if error is not None:
            values["error_code"], values["error_message"] = error
        results: list[TranscriptRow | SummaryRow] = []
        results += [transcript_row(job_id, transcript, now)] if transcript else []
        results += [summary_row(job_id, note, now)] if note else []
        if (
            (events or results)
            and expected_seq is not None
            and self.engine.dialect.name == "postgresql"
        ):
            seq = expected_seq + len(events)
            payloads = tuple(e.SerializeToString() for e in _stamp(events, seq, now))
            statement, params = one_statement_record(
                job_id,
                worker_id,
                expected_seq=expected_seq,
                values=values,
                events=list(enumerate(payloads, start=expected_seq + 1)),
                now=now,
                results=[result_values(r) for r in results],
            )
            if await self._single(job_id, statement, params) is not None:
                return Recorded(job_id, payloads, seq)
            # Someone else wrote an event (or took the job): the general path decides.
        # SQLAlchemy Core, not an ORM session: no unit of work, no synchronize_session
        # evaluation of the UPDATE (the profile's _EvaluatorCompiler and Session._merge).
        bump = (
            update(_JOBS)
            .where(held_by(job_id, worker_id))
            .values(**values)
            .returning(_JOBS.c.event_seq)
        )
        if not events and not results:
            # A heartbeat or a bare state change: one statement, no transaction round trips.
            row = await self._single(job_id, bump)
            return None if row is None else Recorded(job_id, (), row[0])
        try:
            async with self.engine.begin() as conn:
                seq = (await conn.execute(bump)).scalar()
                if seq is None:
                    return None
                stamped = _stamp(events, seq, now)
                payloads = tuple(e.SerializeToString() for e in stamped)
                if stamped:
                    # One multi-row INSERT, one round trip for all the events.
                    await conn.execute(
                        insert(_EVENTS).values(
                            [
                                {
                                    "job_id": job_id,
                                    "seq": e.sequence,
                                    "payload": p,
                                    "created_at": now,
                                }
                                for e, p in zip(stamped, payloads, strict=True)
                            ]
                        )
                    )
                for result in results:
                    await conn.execute(upsert(self.engine.dialect.name, result))
        finally:
            self.job_changed(job_id)
        return Recorded(job_id, payloads, seq)

    @before_commit
    async def release(self, job_id: str, worker_id: str, state: JobState = JobState.QUEUED) -> bool:
        """Give a job back (worker shutting down): QUEUED again (or ``state``), lease
        cleared."""
        released = await self._single(
            job_id,
            update(_JOBS)
            .where(held_by(job_id, worker_id))
            .values(
                state=state.value,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=utcnow(),
            )
            .returning(_JOBS.c.id),
        )
        return released is not None

    # -- sweeper ---------------------------------------------------------------------------

    @before_commit
    async def due_for_republish(
        self, *, queued_before: datetime, limit: int
    ) -> tuple[list[str], list[str]]:
        """Jobs to publish again: QUEUED and untouched since ``queued_before`` (and live ones
        whose upload finished, RECEIVING with their audio set and nobody holding them), and
        running or receiving with an expired lease. Touches the first kind so they are not
        republished at once.
        """
        now = utcnow()
        stale: list[str] = []
        try:
            async with self.sessions.begin() as session:
                stale += (
                    await session.scalars(
                        select(JobRow.id)
                        .where(_WAITING, JobRow.updated_at < queued_before)
                        .limit(limit)
                    )
                ).all()
                if stale:
                    await session.execute(
                        update(JobRow).where(JobRow.id.in_(stale), _WAITING).values(updated_at=now)
                    )
                expired = list(
                    (
                        await session.scalars(
                            select(JobRow.id)
                            .where(
                                JobRow.state.in_([*_RUNNING, JobState.RECEIVING.value]),
                                JobRow.lease_expires_at < now,
                            )
                            .limit(limit)
                        )
                    ).all()
                )
        finally:
            if stale:  # touched: their update_time moved
                self.job_changed(*stale)
        return stale, expired
