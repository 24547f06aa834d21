"""A worker's write on PostgreSQL as one statement: the job's conditional UPDATE and, in
data-modifying CTEs that read its RETURNING, the events and results it stores.

It runs in a transaction of its own (core/db/store.py ``_single``: a connection lost before
COMMIT is then safe to retry), and it is one round trip for the job's update, the events
and the note that separate statements spent one each on.

The events are numbered before the statement runs, from the event sequence the worker last
saw (``expected_seq``); the UPDATE holds only while the job's sequence is still that, as
well as while the lease is the worker's and the job is not terminal. When anything else
wrote an event meanwhile (a cancel) nothing is written and the caller takes the general
path, which numbers the events inside a transaction. SQLite has no data-modifying CTEs;
there the general path is the only one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CTE,
    DateTime,
    Integer,
    LargeBinary,
    Select,
    Table,
    bindparam,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from core.db.held import held_by
from core.db.models import EventRow, JobRow

_JOBS = cast(Table, JobRow.__table__)
_EVENTS = cast(Table, EventRow.__table__)


def result_values(row: Any) -> tuple[Table, dict[str, Any]]:
    """A result row's (transcript's, note's) table and column values."""
    table = cast(Table, type(row).__table__)
    return table, {c.name: getattr(row, c.name) for c in table.columns}


def one_statement_record(
    job_id: str,
    worker_id: str,
    *,
    expected_seq: int,
    values: Mapping[str, object],
    events: Sequence[tuple[int, bytes]],
    now: datetime,
    results: Sequence[tuple[Table, Mapping[str, Any]]] = (),
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement and its parameters; it returns the job's id when it wrote, no row
    otherwise.

    ``values`` are the job's new column values (``event_seq`` is set to the last event's
    sequence, whatever expression it holds); ``events`` are (sequence, payload) pairs
    already numbered after ``expected_seq``; ``results`` are rows keyed by ``job_id`` to
    insert or replace (transcript, note).

    The statement is built once per shape (which columns, how many events, which results)
    with every value a bound parameter, so SQLAlchemy compiles it once and every later
    write of that shape only binds: building and compiling a fresh statement with literal
    values was most of a write's CPU (2.4 of 3.6 ms a note delta, bench/README.md)."""
    names = tuple(sorted(name for name in values if name != "event_seq"))
    shapes = tuple((table, tuple(n for n in row if n != "job_id")) for table, row in results)
    params: dict[str, Any] = {
        "job_id": job_id,
        "worker_id": worker_id,
        "expected_seq": expected_seq,
        "new_seq": expected_seq + len(events),
        "now": now,
    }
    params.update({f"v_{name}": values[name] for name in names})
    for i, (seq, payload) in enumerate(events):
        params[f"seq_{i}"], params[f"payload_{i}"] = seq, payload
    for table, row in results:
        params.update({f"r_{table.name}_{n}": v for n, v in row.items() if n != "job_id"})
    return _statement(names, len(events), shapes), params


@functools.lru_cache(maxsize=256)
def _statement(
    names: tuple[str, ...], events: int, results: tuple[tuple[Table, tuple[str, ...]], ...]
) -> Select[Any]:
    """The statement for one shape of write, every value a bound parameter."""
    job = (
        update(_JOBS)
        .where(
            held_by(bindparam("job_id"), bindparam("worker_id")),
            _JOBS.c.event_seq == bindparam("expected_seq"),
        )
        .values(
            event_seq=bindparam("new_seq"),
            **{name: bindparam(f"v_{name}", type_=_JOBS.c[name].type) for name in names},
        )
        .returning(_JOBS.c.id)
        .cte("job")
    )
    writes: list[CTE] = []
    if events:
        rows = [
            select(
                job.c.id,
                bindparam(f"seq_{i}", type_=Integer),
                bindparam(f"payload_{i}", type_=LargeBinary),
                bindparam("now", type_=DateTime),
            )
            for i in range(events)
        ]
        writes.append(
            pg_insert(_EVENTS)
            .from_select(
                ["job_id", "seq", "payload", "created_at"],
                rows[0] if len(rows) == 1 else union_all(*rows),
            )
            .cte(f"events_{events}")
        )
    for table, columns in results:
        upsert = pg_insert(table).from_select(
            ["job_id", *columns],
            select(
                job.c.id,
                *(bindparam(f"r_{table.name}_{n}", type_=table.c[n].type) for n in columns),
            ),
        )
        writes.append(
            upsert.on_conflict_do_update(
                index_elements=[table.c.job_id],
                set_={name: upsert.excluded[name] for name in columns},
            ).cte(f"result_{table.name}")
        )
    # PostgreSQL runs every data-modifying CTE once, whether the outer query reads it or not.
    return select(job.c.id).add_cte(*writes)
