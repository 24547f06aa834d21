"""The call interceptors run as one (server/interceptors.py ``CallChain``): layers wrap in
order, outermost first, the wrapped handler is built once per method and reused, and built
again if the servicer's handler for the method changes. Each call's own data (its request id,
token) is still read per call: tests/server/test_call_context.py and test_interceptors.py run
through the same chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import grpc

from server.interceptors import Behaviour, CallChain, WrappingInterceptor


class Details(NamedTuple):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


class Layer(WrappingInterceptor):
    """Writes down its name around each call, and counts how often it wrapped a handler."""

    def __init__(self, name: str, trail: list[str]) -> None:
        self.name, self.trail, self.wraps = name, trail, 0

    def wrap(self, behaviour: Behaviour, streaming: bool, method: str) -> Behaviour:
        self.wraps += 1

        async def unary(request: Any, context: Any) -> Any:
            self.trail.append(f"{self.name}>")
            try:
                return await behaviour(request, context)
            finally:
                self.trail.append(f"<{self.name}")

        return unary


def servicer_handler(trail: list[str]) -> Any:
    async def behaviour(request: str, context: Any) -> str:
        trail.append(f"servicer {request}")
        return request.upper()

    return grpc.unary_unary_rpc_method_handler(behaviour)


def continuation_to(handler: Any) -> Callable[[Any], Awaitable[Any]]:
    async def continuation(details: Any) -> Any:
        return handler if details.method == "/svc/Known" else None

    return continuation


async def test_layers_wrap_in_order_and_each_method_is_built_once() -> None:
    trail: list[str] = []
    outer, inner = Layer("outer", trail), Layer("inner", trail)
    chain = CallChain([outer, inner])
    handler = servicer_handler(trail)
    known = Details("/svc/Known")
    answers = []
    for call in ("a", "b", "c"):
        built = await chain.intercept_service(continuation_to(handler), known)  # type: ignore[arg-type]
        answers.append(await built.unary_unary(call, None))
    assert answers == ["A", "B", "C"]
    assert trail[:5] == ["outer>", "inner>", "servicer a", "<inner", "<outer"]
    assert len(trail) == 15
    assert (outer.wraps, inner.wraps) == (1, 1)
    # No handler, nothing to wrap.
    unknown = Details("/svc/Unknown")
    assert await chain.intercept_service(continuation_to(handler), unknown) is None  # type: ignore[arg-type]
    # Another handler for the method (a re-registered servicer) is wrapped afresh.
    other = servicer_handler(trail)
    rebuilt = await chain.intercept_service(continuation_to(other), known)  # type: ignore[arg-type]
    assert await rebuilt.unary_unary("d", None) == "D"
    assert (outer.wraps, inner.wraps) == (2, 2)
