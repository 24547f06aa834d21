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
    literal,
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
) -> Select[Any]:
    """The statement; it returns the job's id when it wrote, no row otherwise.

    ``events`` are (sequence, payload) pairs already numbered after ``expected_seq``;
    ``results`` are rows keyed by ``job_id`` to insert or replace (transcript, note)."""
    job = (
        update(_JOBS)
        .where(held_by(job_id, worker_id), _JOBS.c.event_seq == expected_seq)
        .values(**values)
        .returning(_JOBS.c.id)
        .cte("job")
    )
    writes: list[CTE] = []
    if events:
        rows = [
            select(
                job.c.id,
                literal(seq, Integer),
                literal(payload, LargeBinary),
                literal(now, DateTime),
            )
            for seq, payload in events
        ]
        writes.append(
            pg_insert(_EVENTS)
            .from_select(
                ["job_id", "seq", "payload", "created_at"],
                rows[0] if len(rows) == 1 else union_all(*rows),
            )
            .cte(f"events_{len(events)}")
        )
    for table, row in results:
        names = [name for name in row if name != "job_id"]
        upsert = pg_insert(table).from_select(
            ["job_id", *names],
            select(job.c.id, *(literal(row[name], table.c[name].type) for name in names)),
        )
        writes.append(
            upsert.on_conflict_do_update(
                index_elements=[table.c.job_id],
                set_={name: upsert.excluded[name] for name in names},
            ).cte(f"result_{table.name}")
        )
    # PostgreSQL runs every data-modifying CTE once, whether the outer query reads it or not.
    return select(job.c.id).add_cte(*writes)
