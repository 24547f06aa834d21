"""One-row reads on PostgreSQL straight through the driver: the hot GetJob read (and every
caller of ``JobReads.get_visible``) as an asyncpg prepared statement on a connection from the
read pool, its row handed on as a plain named tuple.

Through ``AsyncConnection.execute`` a single SELECT went through SQLAlchemy's execution
context, parameter processing, the asyncpg adapter's cursor and a result object, behind a
greenlet hop (``greenlet_spawn``, ``AsyncConnection.execute``, ``DefaultExecutionContext.
_init_compiled``, ``SQLCompiler.construct_params``, ``AsyncAdapt_asyncpg_cursor.
_prepare_and_execute``, ``Result.all`` in bench/results/profile-getjob-pg-h19-before.txt).
Here the Core statement is compiled once, for the read engine's dialect; asyncpg prepares it once
per connection (its statement cache) and then only binds and executes it.

The connection still comes from SQLAlchemy's pool, so its connect handling is the engine's
(core/db/engine.py). A statement that meets a connection the database dropped is handled as
SQLAlchemy handles one: every connection pooled before it is invalidated, and the read fails
with ConnectionLost, which core/db/retry.py runs once more on a fresh connection.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.engine import ConnectionLost, dropped
from core.errors import Unavailable

#: SQLSTATE classes of a passing outage: insufficient resources, operator intervention (a
#: cancelled statement), a system error. SQLAlchemy's OperationalError, which core/db/engine.py
#: makes Unavailable too.
_OUTAGE = ("53", "57", "58")


class DriverStatement:
    """A Core SELECT compiled once for asyncpg: its SQL, the order of its parameters, and
    the named tuple its rows become (attribute access, as a Core row has)."""

    def __init__(self, statement: Select[Any], dialect: Dialect, row_name: str) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup or ())
        self.row: Any = collections.namedtuple(  # type: ignore[misc]
            row_name, [c.name for c in statement.selected_columns]
        )

    def args(self, params: Mapping[str, object]) -> list[object]:
        return [params[name] for name in self.names]


def _lost(exc: BaseException) -> bool:
    # InternalClientError: a connection whose server went away mid-protocol ("cannot switch
    # to state 12; another operation is in progress"), seen once in a fresh-clone run of
    # test_reads_survive_every_pooled_connection_dropped: replaced like any dropped one.
    lost = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)
    if isinstance(exc, (*lost, asyncpg.InternalClientError)):
        return True
    return isinstance(exc, asyncpg.PostgresError) and dropped(str(exc.sqlstate or ""))


async def fetch_first(
    reader: AsyncEngine, statement: DriverStatement, params: Mapping[str, object]
) -> Any | None:
    """The statement's first row as its named tuple, or None."""
    record = await _fetch(reader, statement, params, many=False)
    return None if record is None else statement.row._make(record)


async def fetch_all(
    reader: AsyncEngine, statement: DriverStatement, params: Mapping[str, object]
) -> list[Any]:
    """Every row of the statement, each as its named tuple."""
    make = statement.row._make
    return [make(record) for record in await _fetch(reader, statement, params, many=True)]


async def _fetch(
    reader: AsyncEngine, statement: DriverStatement, params: Mapping[str, object], *, many: bool
) -> Any:
    args = statement.args(params)
    async with reader.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection  # asyncpg's Connection
        try:
            if many:
                return await driver.fetch(statement.sql, *args)
            return await driver.fetchrow(statement.sql, *args)
        except Exception as exc:
            if _lost(exc):
                # As SQLAlchemy does on a disconnect: this connection and every one pooled
                # before it are replaced at their next checkout.
                reader.sync_engine.pool._invalidate(raw, exc)
                raise ConnectionLost(in_commit=False) from exc
            if isinstance(exc, asyncpg.PostgresError) and str(exc.sqlstate).startswith(_OUTAGE):
                raise Unavailable(
                    "The database is unavailable; try again shortly.",
                    reason="DATABASE_UNAVAILABLE",
                    retry_after=2.0,
                ) from exc
            raise
