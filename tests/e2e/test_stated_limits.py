"""The limits request comments state are the limits the server enforces: a string field whose
comment says "at most N characters" is refused at N + 1 (INVALID_ARGUMENT, reason
MALFORMED_FIELD, the field named in google.rpc.BadRequest) and not for its length at N, and an
integer "from A to B" is refused just outside and taken at both ends.

The limits are read from the .proto comments (tests/test_contract.py), so a limit a comment
states and the server does not keep, or a new one with no way to reach it here, fails.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from google.protobuf import descriptor as pbd
from google.protobuf.message import Message

from tests.e2e.deployment import Deployment
from tests.e2e.rpc_errors import Failure, failure
from tests.test_contract import contract_fields, field_comments

_CHARACTERS = re.compile(r"at most (\d+) characters")
_RANGE = re.compile(r"from (-?\d+) to (-?\d+)")
_TEXT = "Doctor: What brings you in?\nPatient: A cough for three days."

#: How a value reaches each request message that states a limit: the RPC, the request built
#: around one field's value, and the field's name in BadRequest.
Build = Callable[[str, Any], Message]
ROUTES: dict[str, tuple[str, Build, str]] = {
    "consulta.v1.EncounterMetadata": (
        "CreateJob",
        lambda name, value: pb.CreateJobRequest(
            config=job_pb2.JobConfig(encounter=job_pb2.EncounterMetadata(**{name: value})),
            transcript_text=_TEXT,
        ),
        "config.encounter.",
    ),
    "consulta.v1.JobConfig": (
        "CreateJob",
        lambda name, value: pb.CreateJobRequest(
            config=job_pb2.JobConfig(**{name: value}), transcript_text=_TEXT
        ),
        "config.",
    ),
    "consulta.v1.CreateJobRequest": (
        "CreateJob",
        # audio_uri shares the `source` oneof with the transcript: set last, it replaces it.
        lambda name, value: pb.CreateJobRequest(transcript_text=_TEXT, **{name: value}),
        "",
    ),
    "consulta.v1.UploadConfig": (
        "UploadAudio",
        lambda name, value: pb.UploadAudioRequest(config=pb.UploadConfig(**{name: value})),
        "config.",
    ),
    "consulta.v1.ListJobsRequest": (
        "ListJobs",
        lambda name, value: pb.ListJobsRequest(**{name: value}),
        "",
    ),
    "consulta.v1.ListAuditEventsRequest": (
        "ListAuditEvents",
        lambda name, value: pb.ListAuditEventsRequest(**{name: value}),
        "",
    ),
}
ROLES = {"ListAuditEvents": "auditor"}


def _stated(pattern: re.Pattern[str]) -> list[tuple[pbd.FieldDescriptor, tuple[int, ...]]]:
    comments = field_comments(Path(tempfile.mkdtemp()))
    out = []
    for f in contract_fields():
        if f.is_repeated:  # counts of entries: checked by tests/server/test_validation.py
            continue
        found = pattern.search(comments[f.full_name])
        if found:
            out.append((f, tuple(int(g) for g in found.groups())))
    return out


def owner(field: pbd.FieldDescriptor) -> str:
    assert field.containing_type is not None
    return field.containing_type.full_name


LENGTHS = _stated(_CHARACTERS)
RANGES = _stated(_RANGE)


@pytest.fixture
def kind() -> str:
    """Validation happens before any store is touched: the embedded deployment is enough."""
    return "embedded"


async def call(deployment: Deployment, field: pbd.FieldDescriptor, value: Any) -> Failure:
    method, build, _ = ROUTES[owner(field)]
    request = build(field.name, value)
    metadata = deployment.auth(roles=[ROLES.get(method, "clinician")])
    stub = deployment.stub()
    try:
        if method == "UploadAudio":

            async def requests() -> AsyncIterator[pb.UploadAudioRequest]:
                assert isinstance(request, pb.UploadAudioRequest)
                yield request

            async for _ in stub.UploadAudio(requests(), metadata=metadata, timeout=20):
                pass
        else:
            await getattr(stub, method)(request, metadata=metadata, timeout=20)
    except grpc.aio.AioRpcError as error:
        return failure(error)
    return Failure(grpc.StatusCode.OK, "", "", [], None)


def refused_for(outcome: Failure, field: pbd.FieldDescriptor) -> bool:
    prefix = ROUTES[owner(field)][2]
    return (
        outcome.code == grpc.StatusCode.INVALID_ARGUMENT
        and outcome.reason == "MALFORMED_FIELD"
        and f"{prefix}{field.name}" in outcome.fields
    )


def test_limits_are_stated_and_each_has_a_route() -> None:
    assert len(LENGTHS) >= 9 and len(RANGES) >= 2
    assert {owner(f) for f, _ in LENGTHS + RANGES} <= set(ROUTES)


@pytest.mark.parametrize(
    ("field", "limit"), LENGTHS, ids=[f.full_name.split(".", 2)[2] for f, _ in LENGTHS]
)
async def test_a_stated_length_is_kept(
    deployment: Deployment, field: pbd.FieldDescriptor, limit: tuple[int]
) -> None:
    (most,) = limit
    assert refused_for(await call(deployment, field, "a" * (most + 1)), field)
    assert not refused_for(await call(deployment, field, "a" * most), field)


@pytest.mark.parametrize(
    ("field", "limits"), RANGES, ids=[f.full_name.split(".", 2)[2] for f, _ in RANGES]
)
async def test_a_stated_range_is_kept(
    deployment: Deployment, field: pbd.FieldDescriptor, limits: tuple[int, int]
) -> None:
    low, high = limits
    assert refused_for(await call(deployment, field, high + 1), field)
    assert refused_for(await call(deployment, field, -1), field)  # 0 is each one's default
    for edge in (low, high):
        assert (await call(deployment, field, edge)).code == grpc.StatusCode.OK
