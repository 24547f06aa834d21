"""The RPCs about the data rather than in it: the audit log and the retention policy.

Which roles may call them is decided in ``server/roles.py``; these functions only scope
everything to the caller's tenant.
"""

from __future__ import annotations

from datetime import UTC, datetime

from consulta.v1 import governance_pb2
from consulta.v1 import transcription_service_pb2 as pb
from google.protobuf import duration_pb2, timestamp_pb2

from core.auth import Principal
from core.db import audit, retention
from core.db.models import AuditRow
from core.errors import FieldViolation, InvalidArgument
from core.runtime import Runtime
from server.validation import MAX_PAGE_TOKEN, length_violations, raise_if, require_id

MAX_RETENTION_SECONDS = 100 * 366 * 86400


def _naive(ts: timestamp_pb2.Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC).replace(tzinfo=None)


def _stamp(when: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when.replace(tzinfo=UTC))
    return ts


def _event(row: AuditRow) -> governance_pb2.AuditEvent:
    return governance_pb2.AuditEvent(
        event_id=row.id,
        time=_stamp(row.at),
        subject=row.subject,
        tenant=row.tenant,
        roles=[r for r in row.roles.split(",") if r],
        action=row.action,
        job_id=row.job_id,
        outcome=row.outcome,
    )


async def list_audit_events(
    rt: Runtime, principal: Principal, request: pb.ListAuditEventsRequest
) -> pb.ListAuditEventsResponse:
    raise_if(length_violations(request.page_token, "page_token", MAX_PAGE_TOKEN))
    if request.job_id:  # optional: when given, an id this service issues
        require_id(request.job_id, "job_id")
    if not 0 <= request.page_size <= 100:
        raise InvalidArgument(
            "page_size must be from 1 to 100 (0 means 50).",
            reason="MALFORMED_FIELD",
            violations=(FieldViolation("page_size", "From 1 to 100."),),
        )
    query = audit.AuditQuery(
        tenant=principal.tenant,
        job_id=request.job_id,
        subject=request.subject,
        start=_naive(request.start_time) if request.HasField("start_time") else None,
        end=_naive(request.end_time) if request.HasField("end_time") else None,
    )
    rows, token = await audit.list_events(
        rt.store, query, limit=request.page_size or 50, page_token=request.page_token
    )
    return pb.ListAuditEventsResponse(events=[_event(r) for r in rows], next_page_token=token)


async def retention_policy(rt: Runtime, tenant: str) -> governance_pb2.RetentionPolicy:
    """The policy in force for ``tenant``: its own, else the deployment's default."""
    row = await retention.get_policy(rt.store, tenant)
    if row is None:
        return governance_pb2.RetentionPolicy(
            tenant=tenant,
            retention=duration_pb2.Duration(seconds=int(rt.settings.default_retention_seconds)),
            is_default=True,
        )
    return governance_pb2.RetentionPolicy(
        tenant=tenant,
        retention=duration_pb2.Duration(seconds=row.retention_seconds),
        update_time=_stamp(row.updated_at),
        updated_by=row.updated_by,
    )


async def set_retention_policy(
    rt: Runtime, principal: Principal, request: pb.SetRetentionPolicyRequest
) -> pb.SetRetentionPolicyResponse:
    seconds = request.retention.seconds
    if (
        not request.HasField("retention")
        or request.retention.nanos
        or not 0 <= seconds <= MAX_RETENTION_SECONDS
    ):
        raise InvalidArgument(
            "retention must be whole seconds from 1 second to 100 years, or 0 to keep jobs "
            "until they are deleted.",
            reason="MALFORMED_FIELD",
            violations=(FieldViolation("retention", "0, or 1 s to 100 years."),),
        )
    await retention.set_policy(rt.store, principal.tenant, seconds, principal.subject)
    return pb.SetRetentionPolicyResponse(policy=await retention_policy(rt, principal.tenant))
