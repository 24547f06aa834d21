"""ListJobs' SELECTs, built once per shape: a user or a service role, filtered by state or
not, the first page or one after a cursor. Everything that varies per call is a bound
parameter, so a call only binds values: no statement built per call (profile: ``_visible``,
``visible_to``, ``_rule``, ``ColumnElement.operate``, ``ColumnOperators.__eq__``,
``OrderingOperators.desc``, ``select`` under ``JobReads.list_visible`` in
bench/results/profile-listjobs-h20-before.txt) and SQLAlchemy's cache key is that of a
statement it has seen.

On PostgreSQL the statements are compiled once for asyncpg (core/db/driver_read.py), the
states as one array parameter (``state = ANY($n)``); on SQLite a state list is an expanding
IN. The parameters: ``tenant``, ``subject`` (a user's), ``states`` (a list of state values),
``created`` and ``after_id`` (the cursor's), ``limit``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Select, String, and_, any_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from core.db.models import JobRow
from core.db.visibility import rule

_JOBS = JobRow.__table__

#: (service role, filtered by state, after a cursor)
Shape = tuple[bool, bool, bool]
SHAPES: tuple[Shape, ...] = tuple(
    (service, states, after)
    for service in (False, True)
    for states in (False, True)
    for after in (False, True)
)


def list_statement(shape: Shape, *, postgres: bool) -> Select[Any]:
    """The page's SELECT, newest first, one row more than ``limit`` asks for (whether a next
    page exists)."""
    service, states, after = shape
    query = select(_JOBS).where(
        rule(service, _JOBS.c.owner, _JOBS.c.tenant, bindparam("subject"), bindparam("tenant"))
    )
    if states:
        if postgres:
            wanted = bindparam("states", type_=ARRAY(String))
            query = query.where(_JOBS.c.state == any_(wanted))
        else:
            query = query.where(_JOBS.c.state.in_(bindparam("states", expanding=True)))
    if after:
        created = bindparam("created", type_=_JOBS.c.created_at.type)
        query = query.where(
            or_(
                _JOBS.c.created_at < created,
                and_(_JOBS.c.created_at == created, _JOBS.c.id < bindparam("after_id")),
            )
        )
    return query.order_by(_JOBS.c.created_at.desc(), _JOBS.c.id.desc()).limit(
        bindparam("limit", type_=Integer)
    )


def list_params(
    shape: Shape,
    *,
    tenant: str,
    subject: str,
    states: list[str],
    cursor: tuple[Any, str] | None,
    limit: int,
) -> dict[str, Any]:
    """The bound values of ``shape``'s statement for one call."""
    service, filtered, after = shape
    params: dict[str, Any] = {"tenant": tenant, "limit": limit + 1}
    if not service:
        params["subject"] = subject
    if filtered:
        params["states"] = states
    if after and cursor is not None:
        params["created"], params["after_id"] = cursor
    return params
