"""The condition every write of a worker holds under: the job's lease names the worker and
the job is not terminal. One clause for the job store's conditional UPDATEs
(core/db/store.py ``record`` and ``release``) and PostgreSQL's one-statement write
(core/db/one_statement.py), so that the two can never disagree on who may write."""

from __future__ import annotations

from typing import cast

from sqlalchemy import BindParameter, ColumnElement, String, Table, and_, literal_column

from core.db.models import JobRow
from core.domain import TERMINAL_STATES

_JOBS = cast(Table, JobRow.__table__)
#: The terminal states' column values.
TERMINAL = [s.value for s in TERMINAL_STATES]
#: The same, as SQL constants: rendered in the statement itself rather than expanded from a
#: parameter at every execution (the profile's _literal_execute_expanding_parameter).
_TERMINAL_SQL: list[ColumnElement[str]] = [
    literal_column(f"'{value}'", String) for value in TERMINAL
]


def held_by(
    job_id: str | BindParameter[str], worker_id: str | BindParameter[str]
) -> ColumnElement[bool]:
    """``job_id``'s row while ``worker_id`` holds its lease and it is not terminal."""
    return and_(
        _JOBS.c.id == job_id,
        _JOBS.c.lease_owner == worker_id,
        _JOBS.c.state.not_in(_TERMINAL_SQL),
    )
