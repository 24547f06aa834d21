"""Two interceptors: authentication and the one place domain errors become status codes,
and :class:`CallChain`, which runs the server's call interceptors as one.

Each wraps the handler's behaviour function, so the wrapped code runs in the same task as the
handler: the caller's principal is a context variable the handler reads with
:func:`current_principal`. The wrapping depends on the method only (a call's own data, its
metadata and request, is read when it runs), so the chain builds it once per method.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from core import errors
from core.auth import Principal
from server import decoding, metrics

log = logging.getLogger(__name__)

_principal: ContextVar[Principal | None] = ContextVar("principal", default=None)

#: Methods anyone may call: load balancers and grpcurl have no token.
PUBLIC_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
DOMAIN = "consulta.v1"

Behaviour = Callable[..., Any]
Wrap = Callable[[Behaviour, bool, str], Behaviour]
_KEEP: Any = object()


def current_principal() -> Principal:
    principal = _principal.get()
    if principal is None:  # only reachable if a public method asks for a caller
        raise errors.Unauthenticated("This call needs a bearer token.")
    return principal


def wrap_handler(handler: Any, wrap: Wrap, method: str, *, deserializer: Any = _KEEP) -> Any:
    """``handler`` with its behaviour wrapped (and its request deserializer replaced)."""
    if deserializer is _KEEP:
        deserializer = handler.request_deserializer
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            wrap(handler.unary_unary, False, method),
            request_deserializer=deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            wrap(handler.unary_stream, True, method),
            request_deserializer=deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            wrap(handler.stream_unary, False, method),
            request_deserializer=deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.stream_stream_rpc_method_handler(
        wrap(handler.stream_stream, True, method),
        request_deserializer=deserializer,
        response_serializer=handler.response_serializer,
    )


class WrappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """An interceptor that wraps each call's behaviour function, so that its code runs in the
    handler's task. Subclasses give :meth:`wrap`, or :meth:`intercept` when the wrapping
    depends on the call (its metadata, its request type)."""

    def wrap(self, behaviour: Behaviour, streaming: bool, method: str) -> Behaviour:
        raise NotImplementedError

    def intercept(self, handler: Any, details: grpc.HandlerCallDetails) -> Any:
        """The handler to run for this call: by default ``handler`` wrapped by :meth:`wrap`."""
        return wrap_handler(handler, self.wrap, details.method)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return self.intercept(handler, handler_call_details)


class CallChain(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Several :class:`WrappingInterceptor` layers as one interceptor, outermost first.

    The same calls as registering each layer with the server, for less: one
    ``intercept_service`` coroutine per call instead of one per layer, and the wrapped handler
    built once per method and reused (the servicer's handler for a method is the same object
    every call). Profile: five nested interceptor layers each rebuilt and wrapped the handler
    on every call (``wrap_handler``, ``intercept_service``)."""

    def __init__(self, layers: Sequence[WrappingInterceptor]) -> None:
        self.layers = tuple(layers)
        self._built: dict[str, tuple[Any, Any]] = {}

    def build(self, handler: Any, details: grpc.HandlerCallDetails) -> Any:
        """``handler`` wrapped by every layer, the first outermost."""
        for layer in reversed(self.layers):
            handler = layer.intercept(handler, details)
        return handler

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method
        built = self._built.get(method)
        if built is None or built[0] is not handler:
            built = (handler, self.build(handler, handler_call_details))
            self._built[method] = built
        return built[1]


def _bearer(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    values = [v for k, v in context.invocation_metadata() or () if k == "authorization"]
    if not values:
        raise errors.Unauthenticated("This call needs an 'authorization: Bearer <token>' header.")
    # Two headers could be read differently by a proxy and by us: refuse rather than pick one.
    if len(values) > 1:
        raise errors.Unauthenticated("Send exactly one authorization header.")
    value = values[0]
    if isinstance(value, str):
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token:
            return token.strip()
    raise errors.Unauthenticated("The authorization header must be 'Bearer <token>'.")


class AuthInterceptor(WrappingInterceptor):
    """Verifies the bearer token of every non-public call and records its principal, then
    parses the request: nothing a caller sends is parsed before it is authenticated
    (server/decoding.py says why)."""

    def __init__(self, verify: Callable[[str], Principal]) -> None:
        self._verify = verify

    def intercept(self, handler: Any, details: grpc.HandlerCallDetails) -> Any:
        method: str = details.method
        public = method.startswith(PUBLIC_PREFIXES)
        parse_one = handler.request_deserializer

        def authenticate(context: Any) -> None:
            if not public:
                _principal.set(self._verify(_bearer(context)))

        def request(raw: Any, context: Any) -> Any:
            authenticate(context)
            if handler.request_streaming:
                return decoding.parse_stream(parse_one, raw, method)
            return decoding.parse(parse_one, raw, method)

        def wrap(behaviour: Behaviour, streaming: bool, _method: str) -> Behaviour:
            if streaming:

                async def stream(raw: Any, context: Any) -> AsyncIterator[Any]:
                    async for response in behaviour(request(raw, context), context):
                        yield response

                return stream

            async def unary(raw: Any, context: Any) -> Any:
                return await behaviour(request(raw, context), context)

            return unary

        return wrap_handler(handler, wrap, method, deserializer=decoding.identity)


_CODES: list[tuple[type[errors.ConsultaError], int]] = [
    (errors.ResourceExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (errors.Unavailable, code_pb2.UNAVAILABLE),
    (errors.InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (errors.Unauthenticated, code_pb2.UNAUTHENTICATED),
    (errors.PermissionDenied, code_pb2.PERMISSION_DENIED),
    (errors.NotFound, code_pb2.NOT_FOUND),
    (errors.FailedPrecondition, code_pb2.FAILED_PRECONDITION),
    (errors.OutOfRange, code_pb2.OUT_OF_RANGE),
    (errors.DataLoss, code_pb2.DATA_LOSS),
    (errors.Aborted, code_pb2.ABORTED),
]


def to_status(exc: errors.ConsultaError) -> status_pb2.Status:
    """The google.rpc.Status for a domain error, with ErrorInfo, BadRequest and RetryInfo."""
    code = next((c for cls, c in _CODES if isinstance(exc, cls)), code_pb2.INTERNAL)
    details: list[any_pb2.Any] = []
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(reason=exc.reason or code_pb2.Code.Name(code), domain=DOMAIN)
    )
    details.append(info)
    if isinstance(exc, errors.InvalidArgument) and exc.violations:
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in exc.violations
                ]
            )
        )
        details.append(bad)
    if isinstance(exc, errors.Unavailable):
        retry = any_pb2.Any()
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(exc.retry_after * 1000))
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(retry)
    return status_pb2.Status(code=code, message=exc.message, details=details)


class ErrorInterceptor(WrappingInterceptor):
    """Turns domain errors into status codes with details; anything unexpected is logged
    and becomes INTERNAL with a message that leaks nothing. Counts every call."""

    async def _abort(self, context: Any, exc: BaseException, method: str) -> None:
        if isinstance(exc, errors.ConsultaError):
            status = to_status(exc)
        else:
            log.exception("unexpected error in %s", method)
            status = status_pb2.Status(
                code=code_pb2.INTERNAL, message="Internal error; it has been logged."
            )
        metrics.RPCS.labels(method=method, code=code_pb2.Code.Name(status.code)).inc()
        await context.abort_with_status(rpc_status.to_status(status))

    def wrap(self, behaviour: Behaviour, streaming: bool, method: str) -> Behaviour:
        """Times and counts each call; its exception becomes a status (abort). The method's
        metric children are looked up once here, not on every call."""
        ok = metrics.RPCS.labels(method=method, code="OK")
        seconds = metrics.RPC_SECONDS.labels(method=method)
        if streaming:

            async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
                start = time.perf_counter()
                try:
                    async for response in behaviour(request, context):
                        yield response
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:
                    await self._abort(context, exc, method)
                else:
                    ok.inc()
                finally:
                    seconds.observe(time.perf_counter() - start)

            return stream

        # Plain try/except rather than an async context manager: no generator per call.
        async def unary(request: Any, context: Any) -> Any:
            start = time.perf_counter()
            try:
                response = await behaviour(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await self._abort(context, exc, method)
                raise  # not reached: _abort raises AbortError
            else:
                ok.inc()
            finally:
                seconds.observe(time.perf_counter() - start)
            return response

        return unary
