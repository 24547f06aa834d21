"""REQUIRED means what the server does: every RPC whose request has REQUIRED fields refuses it
empty with INVALID_ARGUMENT naming exactly those fields (google.rpc.BadRequest), accepts the same
fields filled in, and an RPC whose request has none accepts it empty. The annotations themselves
are checked in tests/test_contract.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb
from google.api import field_behavior_pb2 as fb
from google.protobuf import descriptor as pbd
from google.protobuf import duration_pb2
from google.protobuf.message import Message

from server.roles import ALLOWED
from tests.e2e.deployment import Deployment
from tests.e2e.rpc_errors import Failure, failure
from tests.test_contract import behaviours

SERVICE = pb.DESCRIPTOR.services_by_name["TranscriptionService"]
UNARY_REQUESTS = [m for m in SERVICE.methods if not m.client_streaming]
#: Requests with no REQUIRED field that a server still refuses empty, because one member of a
#: oneof is required (AIP-203 has no annotation for a oneof; its comment says "Required.").
REQUIRED_ONEOF = {"CreateJob": ("source", "MISSING_SOURCE")}
#: REQUIRED fields below the top level of a request, each with its own test here.
NESTED_REQUIRED = {"consulta.v1.AudioChunk.offset"}


@pytest.fixture
def kind() -> str:
    """Refusals happen before any store is touched: the embedded deployment is enough."""
    return "embedded"


def required(message: pbd.Descriptor) -> list[pbd.FieldDescriptor]:
    return [f for f in message.fields if fb.REQUIRED in behaviours(f)]


def request_of(method: pbd.MethodDescriptor, **values: Any) -> Message:
    message: Message = getattr(pb, method.input_type.name)(**values)
    return message


def filled(method: pbd.MethodDescriptor) -> Message:
    """The method's request with every REQUIRED field set to a well-formed value."""
    values: dict[str, Any] = {}
    for f in required(method.input_type):
        if f.type == f.TYPE_STRING:
            values[f.name] = str(uuid.uuid4())  # every id this service takes is a UUID
        elif f.message_type is not None and f.message_type.full_name == "google.protobuf.Duration":
            values[f.name] = duration_pb2.Duration(seconds=86400)
        else:
            raise AssertionError(f"no well-formed value known for {f.full_name}: add one here")
    return request_of(method, **values)


async def call(deployment: Deployment, method: pbd.MethodDescriptor, request: Message) -> Failure:
    """The call's outcome as a Failure (code OK when it succeeded)."""
    role = sorted(ALLOWED[method.name])[0]
    rpc = getattr(deployment.stub(), method.name)
    try:
        if method.server_streaming:
            async for _ in rpc(request, metadata=deployment.auth(roles=[role]), timeout=20):
                pass
        else:
            await rpc(request, metadata=deployment.auth(roles=[role]), timeout=20)
    except grpc.aio.AioRpcError as error:
        return failure(error)
    return Failure(grpc.StatusCode.OK, "", "", [], None)


@pytest.mark.parametrize("method", UNARY_REQUESTS, ids=[m.name for m in UNARY_REQUESTS])
async def test_an_empty_request_is_refused_exactly_for_its_required_fields(
    deployment: Deployment, method: pbd.MethodDescriptor
) -> None:
    names = [f.name for f in required(method.input_type)]
    empty = await call(deployment, method, request_of(method))
    if names:
        assert (empty.code, empty.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_FIELD")
        assert empty.fields == names
    elif method.name in REQUIRED_ONEOF:
        oneof, reason = REQUIRED_ONEOF[method.name]
        assert (empty.code, empty.reason, empty.fields) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            reason,
            [oneof],
        )
        assert oneof in method.input_type.oneofs_by_name
    else:
        assert empty.code == grpc.StatusCode.OK, empty.message


@pytest.mark.parametrize(
    "method",
    [m for m in UNARY_REQUESTS if required(m.input_type)],
    ids=[m.name for m in UNARY_REQUESTS if required(m.input_type)],
)
async def test_the_same_request_with_its_required_fields_set_passes_validation(
    deployment: Deployment, method: pbd.MethodDescriptor
) -> None:
    outcome = await call(deployment, method, filled(method))
    # A fresh id names no job or upload of the caller's: NOT_FOUND, never INVALID_ARGUMENT.
    assert outcome.code in {grpc.StatusCode.OK, grpc.StatusCode.NOT_FOUND}, outcome.message


def test_nested_required_fields_each_have_a_test() -> None:
    methods = list(SERVICE.methods)
    nested: set[str] = set()
    todo = [f.message_type for m in methods for f in m.input_type.fields if f.message_type]
    seen: set[str] = set()
    while todo:
        message = todo.pop()
        if message.full_name in seen or not message.full_name.startswith("consulta."):
            continue
        seen.add(message.full_name)
        nested.update(f.full_name for f in required(message))
        todo.extend(f.message_type for f in message.fields if f.message_type)
    assert nested == NESTED_REQUIRED


async def _upload(deployment: Deployment, *messages: pb.UploadAudioRequest) -> Failure:
    async def requests() -> AsyncIterator[pb.UploadAudioRequest]:
        for message in messages:
            yield message

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in deployment.stub().UploadAudio(requests(), metadata=deployment.auth()):
            pass
    return failure(caught.value)


async def test_a_chunk_without_its_required_offset_is_refused(deployment: Deployment) -> None:
    result = await _upload(
        deployment,
        pb.UploadAudioRequest(config=pb.UploadConfig()),
        pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=0, data=b"RIFF")),
        pb.UploadAudioRequest(chunk=pb.AudioChunk(data=b"more", finish=True)),
    )
    assert (result.code, result.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "OFFSET_MISMATCH")
    assert result.fields == ["chunk.offset"]


async def test_an_upload_whose_required_oneof_starts_with_a_chunk_is_refused(
    deployment: Deployment,
) -> None:
    result = await _upload(deployment, pb.UploadAudioRequest(chunk=pb.AudioChunk(data=b"x")))
    assert (result.code, result.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "CONFIG_FIRST")
    assert result.fields == ["config"]
