"""Who may call what: one table of RPC -> roles, checked for every call in one place
(:class:`server.access.AccessInterceptor`).

``clinician`` works with its own jobs, ``service`` with its tenant's jobs (the store's
visibility rule), ``auditor`` reads the audit log and the retention policy and never patient
data, ``admin`` sets the retention policy. A token without roles is a clinician, as every
token was before roles existed. Roles the server does not know are ignored.
"""

from __future__ import annotations

from core.auth import Principal
from core.errors import PermissionDenied

CLINICIAN = "clinician"
SERVICE = "service"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = frozenset({CLINICIAN, SERVICE, AUDITOR, ADMIN})

_PATIENT_DATA = frozenset({CLINICIAN, SERVICE})

#: Every RPC of TranscriptionService and the roles that may call it. An RPC missing here is
#: refused to everyone (a test checks the table covers the service).
ALLOWED: dict[str, frozenset[str]] = {
    "UploadAudio": _PATIENT_DATA,
    "GetUploadStatus": _PATIENT_DATA,
    "CreateJob": _PATIENT_DATA,
    "GetJob": _PATIENT_DATA,
    "ListJobs": _PATIENT_DATA,
    "GetTranscript": _PATIENT_DATA,
    "GetSummary": _PATIENT_DATA,
    "WatchJob": _PATIENT_DATA,
    "CancelJob": _PATIENT_DATA,
    "DeleteJob": _PATIENT_DATA,
    "ListAuditEvents": frozenset({AUDITOR}),
    "GetRetentionPolicy": frozenset({ADMIN, AUDITOR}),
    "SetRetentionPolicy": frozenset({ADMIN}),
}


def roles_of(principal: Principal) -> frozenset[str]:
    """The roles the server applies: the token's known roles, or clinician when it has none."""
    if not principal.roles:
        return frozenset({CLINICIAN})
    return principal.roles & ROLES


def require(principal: Principal, rpc: str) -> None:
    """PermissionDenied unless one of the caller's roles may call ``rpc``."""
    allowed = ALLOWED.get(rpc, frozenset())
    if not roles_of(principal) & allowed:
        needed = ", ".join(sorted(allowed)) or "no role"
        raise PermissionDenied(
            f"{rpc} needs the role {needed}; this token has "
            f"{', '.join(sorted(roles_of(principal))) or 'no role this server knows'}.",
            reason="ROLE_NOT_ALLOWED",
        )
