"""Malformed requests (issue 10, finding 6): bytes that are not the RPC's message get
INVALID_ARGUMENT, never UNKNOWN or INTERNAL, and leave no ERROR traceback in the log; a caller
without a token is told UNAUTHENTICATED before its bytes are parsed. A Hypothesis fuzz test
sends random bytes and random well-formed-but-wrong messages to every RPC of the service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb
from google.protobuf import descriptor as pbd
from google.protobuf import message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.deployment import Deployment

SERVICE = pb.DESCRIPTOR.services_by_name["TranscriptionService"]
METHODS = list(SERVICE.methods)
FORBIDDEN = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
# Not a valid protobuf encoding of anything: field 1 with wire type 7 (there is none).
GARBAGE = b"\x0f\xff\xff\xff\xff"


def _path(method: pbd.MethodDescriptor) -> str:
    return f"/{SERVICE.full_name}/{method.name}"


def raw_call(
    channel: grpc.Channel,
    method: pbd.MethodDescriptor,
    messages: list[bytes],
    metadata: Any,
) -> grpc.StatusCode:
    """Sends ``messages`` as they are (no serializer) and returns the call's final code.

    The synchronous client, run in a thread: the asyncio client may report INTERNAL ("Internal
    error from Core") in place of the server's status when the server ends a client stream
    before the client has sent everything (grpc/grpc#36066), which would hide what the
    server answered.
    """
    path, timeout = _path(method), 20
    try:
        if method.client_streaming:
            responses: Any = channel.stream_stream(path, None, None)(
                iter(messages), metadata=metadata, timeout=timeout
            )
            for _ in responses:
                pass
        elif method.server_streaming:
            call = channel.unary_stream(path, None, None)
            responses = call(messages[0], metadata=metadata, timeout=timeout)
            for _ in responses:
                pass
        else:
            channel.unary_unary(path, None, None)(messages[0], metadata=metadata, timeout=timeout)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    return grpc.StatusCode.OK


@pytest.fixture
def sync_channel(deployment: Deployment) -> Iterator[grpc.Channel]:
    channel = grpc.insecure_channel(f"127.0.0.1:{deployment.server.port}")
    try:
        yield channel
    finally:
        channel.close()


async def test_garbage_is_invalid_argument_without_a_traceback(
    deployment: Deployment, sync_channel: grpc.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        codes = {
            m.name: await asyncio.to_thread(raw_call, sync_channel, m, [GARBAGE], deployment.auth())
            for m in METHODS
        }
    assert codes == {m.name: grpc.StatusCode.INVALID_ARGUMENT for m in METHODS}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_no_token_and_garbage_is_unauthenticated(
    sync_channel: grpc.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        codes = {
            m.name: await asyncio.to_thread(raw_call, sync_channel, m, [GARBAGE], ())
            for m in METHODS
        }
    assert codes == {m.name: grpc.StatusCode.UNAUTHENTICATED for m in METHODS}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_health_check_with_garbage_is_invalid_argument(deployment: Deployment) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await deployment.channel().unary_unary("/grpc.health.v1.Health/Check", None, None)(GARBAGE)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- fuzzing ------------------------------------------------------------------------------

_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "00000000-0000-0000-0000-000000000000", "../etc/passwd", "s3://x/y"]),
    st.integers(100, 20_000).map(lambda n: "x" * n),
)
_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    pbd.FieldDescriptor.TYPE_STRING: _TEXT,
    pbd.FieldDescriptor.TYPE_BYTES: st.binary(max_size=200),
    pbd.FieldDescriptor.TYPE_BOOL: st.booleans(),
    pbd.FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    pbd.FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    pbd.FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    pbd.FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
    pbd.FieldDescriptor.TYPE_DOUBLE: st.floats(allow_nan=True),
    pbd.FieldDescriptor.TYPE_FLOAT: st.floats(width=32, allow_nan=True),
    # Open enums: any int32 parses, known or not.
    pbd.FieldDescriptor.TYPE_ENUM: st.integers(-3, 40),
}


def messages_of(descriptor: pbd.Descriptor, depth: int = 0) -> st.SearchStrategy[bytes]:
    """Serialized messages of ``descriptor`` with random field values (parseable, mostly
    wrong): strings of every length, unknown enum values, negative sizes and offsets."""
    cls = message_factory.GetMessageClass(descriptor)

    def build(values: dict[str, Any]) -> bytes:
        message = cls()
        for name, value in values.items():
            field = descriptor.fields_by_name[name]
            if field.message_type is not None and not _is_map(field):
                if field.is_repeated:
                    for item in value:
                        getattr(message, name).add().MergeFromString(item)
                else:
                    getattr(message, name).MergeFromString(value)
            elif _is_map(field):
                getattr(message, name).update(value)
            elif field.is_repeated:
                getattr(message, name).extend(value)
            else:
                setattr(message, name, value)
        return message.SerializeToString()

    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        strategy = _field(field, depth)
        if strategy is not None:
            fields[field.name] = strategy
    return st.fixed_dictionaries({}, optional=fields).map(build)


def _is_map(field: pbd.FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _field(field: pbd.FieldDescriptor, depth: int) -> st.SearchStrategy[Any] | None:
    if _is_map(field):
        return st.dictionaries(_TEXT, _TEXT, max_size=20)
    if field.message_type is not None:
        if depth >= 3 or field.message_type.full_name.startswith("google.protobuf."):
            return None
        one: st.SearchStrategy[Any] = messages_of(field.message_type, depth + 1)
    else:
        one = _SCALARS[field.type]
    if field.is_repeated:
        return st.lists(one, max_size=3)
    return one


def requests_for(method: pbd.MethodDescriptor) -> st.SearchStrategy[list[bytes]]:
    one = st.one_of(st.binary(max_size=300), messages_of(method.input_type))
    return st.lists(one, min_size=1, max_size=4 if method.client_streaming else 1)


async def test_fuzz_never_unknown_or_internal(
    deployment: Deployment, sync_channel: grpc.Channel
) -> None:
    metadata = deployment.auth()
    seen: dict[str, set[grpc.StatusCode]] = {}

    def fuzz(method: pbd.MethodDescriptor) -> None:
        # Hypothesis drives synchronous tests: it runs in a thread with a synchronous client
        # while the server goes on serving on this event loop.
        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(messages=requests_for(method), authenticated=st.booleans())
        def check(messages: list[bytes], authenticated: bool) -> None:
            code = raw_call(sync_channel, method, messages, metadata if authenticated else ())
            seen.setdefault(method.name, set()).add(code)
            assert code not in FORBIDDEN, (method.name, messages[:1])

        check()

    for method in METHODS:
        await asyncio.to_thread(fuzz, method)
    assert set(seen) == {m.name for m in METHODS}, "the fuzzer made no calls to some RPCs"
