"""Each call's log context: a request id and the method, bound before anything else runs so
every log line of the call carries them (core/logs.py), and a DEBUG line when it ends.

A caller may send its own ``x-request-id`` (letters, digits, ``-_.``, at most 64) to find its
call in the logs; otherwise the server makes one. Job ids are bound where the request is
parsed (server/decoding.py) and where an upload creates one (server/uploads.py).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from core import logs
from server.interceptors import Behaviour, WrappingInterceptor

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(metadata: Any) -> str:
    for key, value in metadata or ():
        if key == "x-request-id" and isinstance(value, str) and _REQUEST_ID.match(value):
            return value
    # 32 random hex digits, as uuid4().hex gave, without building a UUID (profile: uuid4).
    return os.urandom(16).hex()


class ContextInterceptor(WrappingInterceptor):
    """Binds request id and method for the call's task; the outermost interceptor. The
    request id is read from the call's metadata when it runs, so the wrapping is the same for
    every call of a method (server/interceptors.py ``CallChain`` builds it once)."""

    def wrap(self, behaviour: Behaviour, streaming: bool, method: str) -> Behaviour:
        if streaming:

            async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
                logs.bind(request_id=request_id(context.invocation_metadata()), method=method)
                start = time.perf_counter()
                try:
                    async for response in behaviour(request, context):
                        yield response
                finally:
                    _finished(context, start)

            return stream

        async def unary(request: Any, context: Any) -> Any:
            logs.bind(request_id=request_id(context.invocation_metadata()), method=method)
            start = time.perf_counter()
            try:
                return await behaviour(request, context)
            finally:
                _finished(context, start)

        return unary


def _finished(context: Any, start: float) -> None:
    code = context.code() if hasattr(context, "code") else None
    log.debug("call ended (%s) after %.3f s", code or "OK", time.perf_counter() - start)
