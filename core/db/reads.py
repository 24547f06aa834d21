"""The hot unary reads (GetJob, ListJobs, GetTranscript, GetSummary); the visibility rule is
core/db/visibility.py.

They read with SQLAlchemy Core through a bare connection: no ORM session, identity map or
instance state (the profile's Session.scalar and ORM loading frames), and SQLAlchemy's
compiled cache spares recompiling each statement. Rows go straight to protobuf
(core/codec.py) through the protocols in core/db/views.py. On PostgreSQL, GetJob's read (every
``get_visible``) skips SQLAlchemy's execution too: a prepared asyncpg statement on a pooled
connection (core/db/driver_read.py), shared by the calls that arrive while earlier ones run
(core/db/coalesced_reads.py); so is ListJobs' (one statement per shape, core/db/list_reads.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Row, Select, String, any_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth import Principal
from core.db.coalesced_reads import CoalescedReads
from core.db.driver_read import DriverStatement, fetch_all, fetch_first
from core.db.engine import postgres_reader, sqlite_thread_reader
from core.db.job_cache import JobCache, may_see
from core.db.list_reads import SHAPES, Shape, list_params, list_statement
from core.db.models import JobRow, SummaryRow, TranscriptRow
from core.db.result_reads import COLUMNS, RESULT_STATEMENTS, Convert, Kind, VisibleResult
from core.db.retry import idempotent
from core.db.views import JobView, SummaryView, TranscriptView
from core.db.visibility import rule, visible_params
from core.domain import JobState
from core.errors import FailedPrecondition, InvalidArgument, NotFound

_JOBS = JobRow.__table__


#: GetJob's SELECT for a user and for a service role on SQLite, built once with bound
#: parameters (profile: building the statement each call, visible_to, and_,
#: ColumnOperators.__eq__). PostgreSQL reads by id, coalesced (below).
_GET_JOB = {
    service: select(_JOBS).where(
        _JOBS.c.id == bindparam("job_id"),
        rule(service, _JOBS.c.owner, _JOBS.c.tenant, bindparam("subject"), bindparam("tenant")),
    )
    for service in (False, True)
}


#: GetJob's rows by id for any caller, on PostgreSQL: concurrent calls share one statement
#: (core/db/coalesced_reads.py) and each checks who may see its row.
_JOBS_BY_ID = select(_JOBS).where(_JOBS.c.id == any_(bindparam("ids", type_=ARRAY(String))))

#: Coalesced GetJob statements at once. With 2 or 4, calls 0.7 ms apart on a local database
#: seldom found them all busy and went alone, as before; with 1, GetJob on PostgreSQL served
#: 4-19% more calls for 3-13% less CPU each (bench/README.md, "GetJob on PostgreSQL,
#: coalesced"). The cost: a statement that stalls (a lost packet) holds every GetJob of the
#: server for as long, where the pool let others pass.
COALESCED_IN_FLIGHT = 1

#: ListJobs' SELECTs by shape, for SQLAlchemy's execution (core/db/list_reads.py).
_LIST = {shape: list_statement(shape, postgres=False) for shape in SHAPES}


def encode_cursor(row: JobView) -> str:
    raw = json.dumps([row.created_at.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(token: str) -> tuple[datetime, str]:
    try:
        created, job_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(created), str(job_id)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            "The page token is not one this server issued.", reason="BAD_PAGE_TOKEN"
        ) from exc


class JobReads:
    """Reads of jobs, transcripts and notes as their callers may see them."""

    def __init__(self, engine: AsyncEngine, cache: JobCache | None = None) -> None:
        self.engine = engine
        #: Job rows by id for :meth:`get_visible` (core/db/job_cache.py); None: read each time.
        self.cache = cache
        # Hot reads are single SELECTs, atomic on their own: on PostgreSQL they run in
        # autocommit on a pool without pre-ping (core/db/engine.py postgres_reader), on a
        # SQLite file whole in one worker thread (sqlite_thread_reader).
        self.pg_reader = postgres_reader(engine)
        self.reader = self.pg_reader or engine
        self.thread_reader = sqlite_thread_reader(engine)
        #: GetJob's reads coalesced into one statement while others run, on PostgreSQL.
        self.pg_jobs: CoalescedReads[JobView] | None = None
        if self.pg_reader is not None:
            by_id = DriverStatement(_JOBS_BY_ID, self.pg_reader.dialect, "JobRecord")

            async def fetch(ids: list[str]) -> list[JobView]:
                return await self._pg_all(by_id, {"ids": ids})

            self.pg_jobs = CoalescedReads(fetch, in_flight=COALESCED_IN_FLIGHT)
        #: GetTranscript's and GetSummary's SELECTs compiled for the driver, on PostgreSQL.
        self.pg_results: dict[tuple[Kind, bool], DriverStatement] = {}
        if self.pg_reader is not None:
            for key, query in RESULT_STATEMENTS.items():
                self.pg_results[key] = DriverStatement(query, self.pg_reader.dialect, "Result")
        #: ListJobs' SELECTs by shape compiled for the driver, on PostgreSQL.
        self.pg_list: dict[Shape, DriverStatement] = {}
        if self.pg_reader is not None:
            for shape in SHAPES:
                query = list_statement(shape, postgres=True)
                self.pg_list[shape] = DriverStatement(query, self.pg_reader.dialect, "JobRecord")

    async def get_visible(self, job_id: str, principal: Principal) -> JobView:
        """The job when ``principal`` may see it; NotFound otherwise (even when it exists).

        With a cache, a cached row is checked against the caller like the SQL rule would
        (profile: the SQLite read in a worker thread, ~40% of a GetJob's samples)."""
        cache = self.cache
        if cache is not None:
            cached = cache.get(job_id)
            if cached is not None:
                if may_see(principal, cached.owner, cached.tenant):
                    return cached
                raise NotFound(f"Job {job_id} was not found.", reason="JOB_NOT_FOUND")
            generation = cache.generation()
        row: JobView | None
        if self.pg_jobs is not None:
            row = await self.pg_jobs.get(job_id)
            if row is not None and not may_see(principal, row.owner, row.tenant):
                row = None
        else:
            params = visible_params(principal, job_id)
            row = await self._first(_GET_JOB[principal.is_service], params)
        if row is None:
            raise NotFound(f"Job {job_id} was not found.", reason="JOB_NOT_FOUND")
        if cache is not None:
            cache.put(job_id, row, generation)
        return row

    def job_changed(self, *job_ids: str) -> None:
        """A write to these jobs ended: the cache forgets them (core/db/job_cache.py)."""
        if self.cache is not None:
            self.cache.invalidate(*job_ids)

    async def list_visible(
        self,
        principal: Principal,
        *,
        states: Sequence[JobState],
        limit: int,
        page_token: str,
    ) -> tuple[list[JobView], str]:
        """A page of the caller's jobs, newest first, and the token of the next page: a
        statement built once per shape (core/db/list_reads.py), its values bound."""
        cursor = decode_cursor(page_token) if page_token else None
        shape = (principal.is_service, bool(states), cursor is not None)
        params = list_params(
            shape,
            tenant=principal.tenant,
            subject=principal.subject,
            states=[s.value for s in states],
            cursor=cursor,
            limit=limit,
        )
        rows: list[JobView]
        if self.pg_list:
            rows = await self._pg_all(self.pg_list[shape], params)
        else:
            rows = list(await self._rows(_LIST[shape], params))
        if len(rows) > limit:
            return rows[:limit], encode_cursor(rows[limit - 1])
        return rows, ""

    async def visible_result(
        self, kind: Kind, job_id: str, principal: Principal, convert: Convert
    ) -> bytes:
        """The job's transcript or note as ``convert`` makes it (the message's wire bytes)
        when ``principal`` may see the job: one statement (core/db/result_reads.py), or with
        the cache none. NotFound as :meth:`get_visible`; FailedPrecondition while the job
        has no such result yet."""
        cache = self.cache
        if cache is not None:
            cached = cache.get_result(kind, job_id)
            if cached is not None:
                if may_see(principal, cached.owner, cached.tenant):
                    return cached.wire
                raise NotFound(f"Job {job_id} was not found.", reason="JOB_NOT_FOUND")
            generation = cache.generation()
        service = principal.is_service
        params = visible_params(principal, job_id)
        row: Any
        if self.pg_results:
            row = await self._pg_first(self.pg_results[(kind, service)], params)
        else:
            row = await self._first(RESULT_STATEMENTS[(kind, service)], params)
        if row is None:
            raise NotFound(f"Job {job_id} was not found.", reason="JOB_NOT_FOUND")
        if getattr(row, COLUMNS[kind][0]) is None:
            what = "transcript" if kind == "transcript" else "note"
            raise FailedPrecondition(
                f"Job {row.id} has no {what} yet (state {row.state}).",
                reason=f"{kind.upper()}_NOT_READY",
            )
        result = VisibleResult(row.owner, row.tenant, convert(row))
        if cache is not None:
            cache.put_result(kind, job_id, result, generation)
        return result.wire

    async def transcript(self, job_id: str) -> TranscriptView | None:
        table = TranscriptRow.__table__
        return await self._first(select(table).where(table.c.job_id == job_id))

    async def summary(self, job_id: str) -> SummaryView | None:
        table = SummaryRow.__table__
        return await self._first(select(table).where(table.c.job_id == job_id))

    async def _first(
        self, query: Select[Any], params: dict[str, Any] | None = None
    ) -> Row[Any] | None:
        rows = await self._rows(query, params)
        return rows[0] if rows else None

    @idempotent
    async def _pg_first(self, statement: DriverStatement, params: dict[str, str]) -> Any:
        """One row through the driver (core/db/driver_read.py), or None; safe to repeat, as
        :meth:`_rows`."""
        assert self.pg_reader is not None
        return await fetch_first(self.pg_reader, statement, params)

    @idempotent
    async def _pg_all(self, statement: DriverStatement, params: dict[str, Any]) -> list[JobView]:
        """Every row through the driver, as :meth:`_pg_first`."""
        assert self.pg_reader is not None
        rows: list[JobView] = await fetch_all(self.pg_reader, statement, params)
        return rows

    @idempotent
    async def _rows(
        self, query: Select[Any], params: dict[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """Rows through a bare connection: hot reads skip the ORM session, its identity map
        and instance state (the profile's Session.scalar and ORM loading frames), and
        SQLAlchemy's compiled cache spares recompiling the statement.

        A read is safe to repeat: one that meets a connection the database dropped runs
        once more on a fresh one (core/db/retry.py)."""
        if self.thread_reader is not None:
            return await asyncio.to_thread(self._read_in_thread, query, params)
        async with self.reader.connect() as conn:
            rows: Sequence[Row[Any]] = (await conn.execute(query, params)).all()
        return rows

    def _read_in_thread(
        self, query: Select[Any], params: dict[str, Any] | None
    ) -> Sequence[Row[Any]]:
        assert self.thread_reader is not None
        with self.thread_reader.connect() as conn:
            return conn.execute(query, params).all()

    def close_readers(self) -> None:
        """Close the thread reader's connections (the async engine is disposed apart)."""
        if self.thread_reader is not None:
            self.thread_reader.dispose()

    async def aclose_readers(self) -> None:
        """Close every reader's connections: the PostgreSQL read pool's and the thread
        reader's (the store's own engine is disposed apart)."""
        if self.pg_reader is not None:
            await self.pg_reader.dispose()
        self.close_readers()
