"""Every RPC against every role: the one table in server/roles.py decides, and a token
without roles is a clinician."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb

from core.auth import Principal
from server.roles import ALLOWED, CLINICIAN, roles_of
from tests.e2e.deployment import Deployment
from tests.e2e.rpc_errors import failure

SERVICE = pb.DESCRIPTOR.services_by_name["TranscriptionService"]
ROLES = {"no roles": (), "clinician": ("clinician",), "service": ("service",)}
ROLES |= {"auditor": ("auditor",), "admin": ("admin",), "unknown": ("nurse",)}


def test_the_table_covers_every_rpc() -> None:
    assert sorted(ALLOWED) == sorted(m.name for m in SERVICE.methods)
    assert roles_of(Principal("a", "t")) == {CLINICIAN}


async def _config_only() -> AsyncIterator[pb.UploadAudioRequest]:
    yield pb.UploadAudioRequest(config=pb.UploadConfig())


async def _call(deployment: Deployment, name: str, metadata: Any) -> grpc.StatusCode:
    """Call ``name`` with a small request; the status code it ends with."""
    method = SERVICE.methods_by_name[name]
    request_class: Any = getattr(pb, method.input_type.name)
    request = request_class()
    for field in ("job_id", "upload_id"):
        if field in method.input_type.fields_by_name:
            setattr(request, field, str(uuid.uuid4()))
    rpc = getattr(deployment.stub(), name)
    try:
        if method.client_streaming:
            async for _ in rpc(_config_only(), metadata=metadata, timeout=30):
                pass
        elif method.server_streaming:
            async for _ in rpc(request, metadata=metadata, timeout=30):
                pass
        else:
            await rpc(request, metadata=metadata, timeout=30)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.PERMISSION_DENIED:
            assert failure(exc).reason == "ROLE_NOT_ALLOWED"
        return exc.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("kind", ["embedded"])
@pytest.mark.parametrize("role", list(ROLES))
async def test_every_rpc_against_the_role(deployment: Deployment, role: str) -> None:
    effective = set(ROLES[role]) or {CLINICIAN}
    metadata = deployment.auth("someone", roles=ROLES[role])
    wrong = []
    for method in SERVICE.methods:
        code = await _call(deployment, method.name, metadata)
        allowed = bool(effective & ALLOWED[method.name])
        if allowed == (code == grpc.StatusCode.PERMISSION_DENIED):
            wrong.append(f"{method.name}: {code.name} (allowed={allowed})")
    assert wrong == []
