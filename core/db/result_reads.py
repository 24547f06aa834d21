"""GetTranscript's and GetSummary's read as one statement each: the job, checked against the
caller by the ownership rule, LEFT JOINed to its transcript or note. Before, each call read
the job (``get_visible``) and then the result with a SELECT built per call
(bench/results/profile-gettranscript-h20-mid.txt: ``JobReads.transcript``,
``ColumnOperators.__eq__``, ``ColumnElement.operate``, ``JobReads._first``, a second
``to_thread`` hop). No row: NOT_FOUND (missing or another caller's); a row without the
result's columns: not ready yet.

What a caller gets is the result message's wire bytes (:class:`VisibleResult`), converted once
by the caller's function; with the job cache (core/db/job_cache.py) they are kept beside the
job's row and dropped with it by every write of the job, so on the embedded default a repeated
read touches no database and parses nothing, and a deleted job's result is gone at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, bindparam, select

from core.db.models import JobRow, SummaryRow, TranscriptRow
from core.db.visibility import rule

Kind = Literal["transcript", "summary"]
KINDS: tuple[Kind, ...] = ("transcript", "summary")

_JOBS = JobRow.__table__
_TABLES = {"transcript": TranscriptRow.__table__, "summary": SummaryRow.__table__}
#: The result's columns each kind's conversion reads (core/db/views.py); the first is never
#: NULL in a stored row, so NULL there means no result yet.
COLUMNS: dict[Kind, tuple[str, ...]] = {
    "transcript": ("segments_json", "language", "engine"),
    "summary": ("sections_json", "template", "language", "engine", "rendered"),
}


@dataclass(frozen=True, slots=True)
class VisibleResult:
    """A job's result as its message's wire bytes, with what the ownership rule reads."""

    owner: str
    tenant: str
    wire: bytes


#: Turns a row with a kind's :data:`COLUMNS` into the result message's wire bytes.
Convert = Callable[[Any], bytes]


def result_statement(kind: Kind, service: bool) -> Select[Any]:
    """The job (id, owner, tenant, state) when the caller may see it, and its result's
    columns (NULL when there is none yet)."""
    table = _TABLES[kind]
    return (
        select(
            _JOBS.c.id,
            _JOBS.c.owner,
            _JOBS.c.tenant,
            _JOBS.c.state,
            *(table.c[name] for name in COLUMNS[kind]),
        )
        .select_from(_JOBS.outerjoin(table, table.c.job_id == _JOBS.c.id))
        .where(
            _JOBS.c.id == bindparam("job_id"),
            rule(service, _JOBS.c.owner, _JOBS.c.tenant, bindparam("subject"), bindparam("tenant")),
        )
    )


#: Both kinds' statements for a user and a service role, built once.
RESULT_STATEMENTS: dict[tuple[Kind, bool], Select[Any]] = {
    (kind, service): result_statement(kind, service) for kind in KINDS for service in (False, True)
}
