"""The one ownership rule, for jobs and uploads alike, as SQL: a user sees what they own in
their tenant; a service role sees its whole tenant's. (core/db/job_cache.py ``may_see``
applies it to a row already read.)"""

from __future__ import annotations

from sqlalchemy import BindParameter, and_
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from core.auth import Principal


def visible_to(
    principal: Principal,
    owner: ColumnElement[str] | InstrumentedAttribute[str],
    tenant: ColumnElement[str] | InstrumentedAttribute[str],
) -> ColumnElement[bool]:
    """The rule for ``principal``, its subject and tenant as literal values."""
    return rule(principal.is_service, owner, tenant, principal.subject, principal.tenant)


def rule(
    service: bool,
    owner: ColumnElement[str] | InstrumentedAttribute[str],
    tenant: ColumnElement[str] | InstrumentedAttribute[str],
    subject: str | BindParameter[str],
    their_tenant: str | BindParameter[str],
) -> ColumnElement[bool]:
    """The rule for a user (``service`` False) or a service role, its subject and tenant as
    values or bound parameters (statements built once)."""
    if service:
        return tenant == their_tenant
    return and_(owner == subject, tenant == their_tenant)


def visible_params(principal: Principal, job_id: str) -> dict[str, str]:
    """The values the statements built by :func:`rule` with bound parameters take for
    ``principal`` reading ``job_id``: a service role binds no subject."""
    params = {"job_id": job_id, "tenant": principal.tenant}
    if not principal.is_service:
        params["subject"] = principal.subject
    return params
