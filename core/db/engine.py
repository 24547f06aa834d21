"""The async engine for the configured database URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from core.errors import Unavailable
from core.private_files import FILE_MODE, private_dir, private_file
from core.settings import Settings


def _translate_outages(engine: Engine) -> None:
    """A database that is down, restarting or locked is a passing outage: callers get
    core.errors.Unavailable (gRPC UNAVAILABLE with RetryInfo, a worker retry), never a
    driver exception. Constraint violations and bad SQL pass through unchanged."""

    @event.listens_for(engine, "handle_error")
    def _outage(context: ExceptionContext) -> None:
        error = context.sqlalchemy_exception
        if context.is_disconnect or isinstance(error, (OperationalError, InterfaceError)):
            raise Unavailable(
                "The database is unavailable; try again shortly.",
                reason="DATABASE_UNAVAILABLE",
                retry_after=2.0,
            ) from context.original_exception


def _private_database(path: Path) -> None:
    """The database's folder 0700 and the file 0600 before SQLite opens it: SQLite gives the
    WAL and SHM files the database file's mode."""
    private_dir(path.parent)
    private_file(path)
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():
            extra.chmod(FILE_MODE)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (WatchJob, GetJob) run while a worker writes; foreign keys make
    # DeleteJob's cascade real.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted rows are overwritten with zeros, not just unlinked: DeleteJob erases.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            _private_database(Path(path))
        # hide_parameters: a database error's text must not carry transcript or note text
        # into a log line.
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        _translate_outages(engine.sync_engine)
        return engine
    # pool_pre_ping stays for writes: without it (a round trip saved per checkout,
    # _async_ping in bench/results/profile-getjob-pg-before.txt) tests/e2e/test_restarts.py
    # and test_reads.py failed once in three runs, and there was no time left to find why.
    # The hot reads have an engine of their own without it (postgres_reader).
    engine = create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        pool_pre_ping=True,
        max_overflow=5,
        hide_parameters=True,
    )
    _translate_outages(engine.sync_engine)
    return engine


def postgres_reader(engine: AsyncEngine) -> AsyncEngine | None:
    """For PostgreSQL, an engine of its own for the hot reads (core/db/reads.py), on the same
    URL; None for any other database. Its pool has no pre-ping: asyncpg's ping is three round
    trips (BEGIN, a query, ROLLBACK: ``_async_ping``, ``Transaction.start``,
    ``Transaction.__rollback`` in bench/results/profile-getjob-pg-mid3.txt) before the
    read's one. A read is safe to repeat, so one that meets a connection the database
    dropped is retried once on a fresh one (the failed one invalidates the pool's older
    connections), which tests/e2e/test_reads.py checks. Autocommit: one SELECT needs no
    BEGIN and ROLLBACK. No connection is opened until the first read."""
    if engine.dialect.name != "postgresql":
        return None
    pool = engine.sync_engine.pool
    reader = create_async_engine(
        engine.url,
        pool_size=pool.size() if isinstance(pool, QueuePool) else 5,
        pool_pre_ping=False,
        max_overflow=5,
        isolation_level="AUTOCOMMIT",
        hide_parameters=True,
    )
    _translate_outages(reader.sync_engine)
    return reader


def sqlite_thread_reader(engine: AsyncEngine) -> Engine | None:
    """For a SQLite file, a plain (pysqlite) engine on the same file for the hot reads, run
    whole in one worker thread; None for any other database.

    Through aiosqlite a single SELECT is five hops between the event loop and the driver's
    thread (cursor, execute, fetch, close, rollback: Connection._execute and
    Connection.cursor in bench/results/profile-getjob-before.txt); a read done in one
    asyncio.to_thread call is one. WAL lets it read beside the writer, and it sees every
    committed write at once (same file, no cache).
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    reader = create_sync_engine(
        engine.url.set(drivername="sqlite"),
        connect_args={"timeout": 30, "check_same_thread": False},
        hide_parameters=True,
    )
    event.listen(reader, "connect", _sqlite_pragmas)
    _translate_outages(reader)
    return reader
