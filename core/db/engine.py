"""The async engine for the configured database URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import InterfaceError, InvalidatePoolError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

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
    # The pre-ping stays (without one, tests/e2e/test_restarts.py and test_reads.py failed
    # once in three runs: see git history), in one round trip instead of three.
    # Reads also retry once on a dead connection (core/db/reads.py).
    engine = create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=5,
        hide_parameters=True,
    )
    _translate_outages(engine.sync_engine)
    _ping_on_checkout(engine.sync_engine)
    return engine


def _ping_on_checkout(engine: Engine) -> None:
    """pool_pre_ping's check of a pooled connection at checkout, in one round trip.

    SQLAlchemy's asyncpg ping wraps its ``;`` in BEGIN and ROLLBACK (for pgbouncer's
    transaction mode, SQLAlchemy issue 10226): three round trips on every checkout, the
    AsyncAdapt_asyncpg_connection._async_ping and Transaction.start frames of
    bench/results/profile-scaleout-after.txt, for a worker four checkouts a job. This sends
    the ``;`` alone. As with pool_pre_ping, a connection just opened is not pinged, and a
    dead one invalidates the whole pool (after a database restart every pooled connection
    is dead) and the checkout goes on with a new connection. When that new connection
    cannot be made (the database is still down or starting) the caller gets Unavailable,
    as from the failed ping before, never the driver's or the socket's exception.
    """

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            raise Unavailable(
                "The database is unavailable; try again shortly.",
                reason="DATABASE_UNAVAILABLE",
                retry_after=2.0,
            ) from exc

    @event.listens_for(engine, "connect")
    def _opened(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["fresh"] = True

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if record.info.pop("fresh", False):
            return
        try:
            await_only(dbapi_connection.driver_connection.fetchrow(";"))
        except Exception as exc:
            raise InvalidatePoolError(f"pre-ping failed: {exc!r}") from exc


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
