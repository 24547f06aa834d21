"""The async engine for the configured database URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from core.errors import Unavailable
from core.private_files import FILE_MODE, private_dir, private_file
from core.settings import Settings


class ConnectionLost(Unavailable):
    """The database dropped the connection an operation ran on (a restart, a failover, a
    terminated session). SQLAlchemy has invalidated it, and every connection pooled before
    it, so the next checkout gets a fresh one (core/db/retry.py runs the operation again
    when that is safe). ``in_commit``: it was lost while no statement ran (during COMMIT,
    or connecting), so whether a write's transaction took is unknown."""

    def __init__(self, *, in_commit: bool) -> None:
        super().__init__(
            "The database is unavailable; try again shortly.",
            reason="DATABASE_UNAVAILABLE",
            retry_after=2.0,
        )
        self.in_commit = in_commit


#: SQLSTATEs of a connection the server ended: class 08 (connection exception) and 57P01,
#: 57P02, 57P03 (admin shutdown, crash shutdown, cannot connect now). asyncpg can raise
#: the server's "terminating connection" before it notices the socket closed, and then
#: SQLAlchemy's own test (is the connection closed?) says no.
_DROPPED = ("08", "57P01", "57P02", "57P03")


def dropped(sqlstate: str) -> bool:
    """Whether a statement failed with a SQLSTATE of a connection the server ended."""
    return sqlstate.startswith(_DROPPED)


#: Connections the main engine's pool may open beyond its size, under a burst.
_MAX_OVERFLOW = 5


def _translate_outages(engine: Engine) -> None:
    """A database that is down, restarting or locked is a passing outage: callers get
    core.errors.Unavailable (gRPC UNAVAILABLE with RetryInfo, a worker retry), never a
    driver exception; a dropped connection is ConnectionLost. Constraint violations and
    bad SQL pass through unchanged."""

    @event.listens_for(engine, "handle_error")
    def _outage(context: ExceptionContext) -> None:
        error = context.sqlalchemy_exception
        sqlstate = str(getattr(context.original_exception, "sqlstate", None) or "")
        if dropped(sqlstate):
            # Invalidate the connection (and the pool) as for any disconnect.
            context.is_disconnect = True
        if context.is_disconnect:
            raise ConnectionLost(in_commit=context.statement is None) from (
                context.original_exception
            )
        if isinstance(error, (OperationalError, InterfaceError)):
            raise Unavailable(
                "The database is unavailable; try again shortly.",
                reason="DATABASE_UNAVAILABLE",
                retry_after=2.0,
            ) from context.original_exception


def _refused_connects(engine: Engine) -> None:
    """A connection the database refuses (down, restarting) is Unavailable too: the driver
    raises a bare OSError there, which SQLAlchemy's handle_error never sees."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as exc:  # refused, reset, timed out
            raise Unavailable(
                "The database is unavailable; try again shortly.",
                reason="DATABASE_UNAVAILABLE",
                retry_after=2.0,
            ) from exc


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
    # No pool_pre_ping: it cost a round trip on every checkout (_async_ping in
    # bench/results/profile-getjob-pg-before.txt). A dropped connection is found by the
    # statement that uses it instead, and the operation runs once more on a fresh one when
    # that is safe (core/db/retry.py).
    engine = create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=_MAX_OVERFLOW,
        hide_parameters=True,
    )
    _refused_connects(engine.sync_engine)
    _translate_outages(engine.sync_engine)
    return engine


def postgres_reader(engine: AsyncEngine) -> AsyncEngine | None:
    """For PostgreSQL, an engine of its own for the hot reads (core/db/reads.py), on the same
    URL; None for any other database. Autocommit: one SELECT needs no BEGIN and ROLLBACK
    (``Transaction.start``, ``Transaction.__rollback`` in
    bench/results/profile-getjob-pg-mid3.txt). Like the main engine's, its pool has no
    pre-ping: a read is safe to repeat, so one that meets a connection the database dropped
    is retried once on a fresh one (core/db/retry.py), which tests/e2e/test_reads.py checks.
    No connection is opened until the first read.

    The pool has the main engine's most connections (its size and overflow) and no overflow
    of its own: with more reads in flight than the pool size, an overflow connection was
    closed on return and another opened for the next read (a new backend, its connect,
    asyncpg's type set-up; ``connect``, ``AsyncAdapt_dbapi_connection.create`` and
    ``SSLContext.__new__`` in bench/results/profile-getjob-pg-h19-before.txt, and 73 sessions
    for one 4,000-call run). Reads beyond it wait for one of these instead."""
    if engine.dialect.name != "postgresql":
        return None
    pool = engine.sync_engine.pool
    most = pool.size() + _MAX_OVERFLOW if isinstance(pool, QueuePool) else 10
    reader = create_async_engine(
        engine.url,
        pool_size=most,
        pool_pre_ping=False,
        max_overflow=0,
        isolation_level="AUTOCOMMIT",
        hide_parameters=True,
    )
    _refused_connects(reader.sync_engine)
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
