"""Requests are parsed only after the caller is authenticated.

gRPC runs a handler's ``request_deserializer`` before any interceptor code sees the call, and
a message that fails to parse there becomes UNKNOWN (unary) or INTERNAL (streams) with an
ERROR traceback in the log, whoever sent it. So the handler is registered with an identity
deserializer (the raw bytes pass through), and :func:`deferred` parses them inside the
wrapped behaviour: after authentication, and with a parse failure raised as INVALID_ARGUMENT.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from google.protobuf.message import DecodeError

from core import logs
from core.errors import InvalidArgument

Deserializer = Callable[[bytes], Any]
_JOB_ID = re.compile(r"^[0-9a-fA-F-]{36}$")


def identity(data: bytes) -> bytes:
    """The request deserializer gRPC runs: it keeps the bytes for :func:`parse`."""
    return data


def parse(deserializer: Deserializer | None, data: Any, method: str) -> Any:
    """``data`` parsed by the handler's own deserializer; INVALID_ARGUMENT when malformed."""
    if deserializer is None or not isinstance(data, bytes):
        return data
    try:
        request = deserializer(data)
    except (DecodeError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument(
            f"The request is not a valid {method.rsplit('/', 1)[-1]} message.",
            reason="MALFORMED_REQUEST",
        ) from exc
    bind_job_of(request)
    return request


def bind_job_of(request: Any) -> None:
    """Bind the job id a request names for the call's log lines, when it looks like one
    (never a caller's free text)."""
    job_id = getattr(request, "job_id", "")
    if isinstance(job_id, str) and _JOB_ID.match(job_id):
        logs.bind(job_id=job_id)


async def parse_stream(
    deserializer: Deserializer | None, requests: AsyncIterator[Any], method: str
) -> AsyncIterator[Any]:
    """Each message of a client stream parsed as it arrives."""
    async for data in requests:
        yield parse(deserializer, data, method)
