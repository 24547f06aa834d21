"""The server's life: start (gRPC with health and reflection, the HTTP side port, and
whatever the caller embeds beside it), serve, and drain.

Shutdown order: health goes NOT_SERVING (load balancers stop sending), in-flight RPCs get
``shutdown_grace_seconds`` to finish, embedded work (the workers) finishes or hands back its
jobs, then the adapters close. Which work is embedded, and the ``consulta serve`` process around
this, are the composition root's (app/processes.py): the server never imports the workers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import grpc
from aiohttp import web
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from core.auth import Principal, TokenCache, load_or_create_secret, verify_token_until
from core.db.audit_batch import AuditWriter
from core.http_side import build_app, side_port_tls, start_side_port
from core.lifecycle import CLOSE_SECONDS, Deadline, bounded
from core.runtime import Runtime, open_runtime
from core.secrets import resolve_secrets
from core.settings import Settings
from core.tracing import tracing_enabled
from server.access import AccessInterceptor
from server.call_context import ContextInterceptor
from server.interceptors import (
    AuthInterceptor,
    CallChain,
    ErrorInterceptor,
    WrappingInterceptor,
)
from server.service import TranscriptionService

log = logging.getLogger(__name__)

# grpc-stubs predate the asyncio health servicer.
AsyncHealthServicer: Any = health.aio.HealthServicer  # type: ignore[attr-defined]

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TranscriptionService"].full_name


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def signing_secret(settings: Settings) -> str:
    """The JWT secret: from settings, else the embedded default's file under data_dir."""
    return settings.jwt_secret or load_or_create_secret(settings.data_dir / "jwt.secret")


class Embedded(Protocol):
    """Work that runs inside the server process on its runtime (the embedded workers) and
    drains with it: ``stop`` gets the grace period and the shared shutdown deadline."""

    async def stop(self, grace: float, deadline: Deadline) -> None: ...


#: Starts embedded work on the server's runtime once the ports are bound.
Embed = Callable[[Runtime], Embedded]


@dataclass
class RunningServer:
    settings: Settings
    runtime: Runtime
    server: grpc.aio.Server
    health: Any
    http: web.AppRunner
    workers: Embedded | None
    port: int
    http_port: int
    serving: bool = False

    async def stop(self, grace: float | None = None) -> Deadline:
        """Drain: in-flight calls and jobs get ``grace`` seconds, and every later stage
        shares one deadline ``CLOSE_SECONDS`` after it (core/lifecycle.py)."""
        grace = self.settings.shutdown_grace_seconds if grace is None else grace
        deadline = Deadline(grace + CLOSE_SECONDS)
        self.serving = False
        await self.health.enter_graceful_shutdown()
        log.info("draining: NOT_SERVING, in-flight calls get %.0fs", grace)
        if self.workers is not None:
            worker_stop = asyncio.create_task(self.workers.stop(grace, deadline))
        await bounded(self.server.stop(grace), deadline, "in-flight calls")
        if self.workers is not None:
            await bounded(worker_stop, deadline, "workers")
        await bounded(self.http.cleanup(), deadline, "the HTTP side port")
        await bounded(self.runtime.aclose(), deadline, "closing adapters")
        log.info("stopped, %.2f s before the deadline", deadline.remaining())
        return deadline


def _credentials(settings: Settings) -> grpc.ServerCredentials | None:
    if not settings.tls_cert_file:
        return None
    pair = (Path(settings.tls_key_file).read_bytes(), Path(settings.tls_cert_file).read_bytes())
    if not settings.tls_client_ca_file:
        return grpc.ssl_server_credentials([pair])
    return grpc.ssl_server_credentials(
        [pair],
        root_certificates=Path(settings.tls_client_ca_file).read_bytes(),
        require_client_auth=True,
    )


def call_interceptors(
    audit: AuditWriter, verify: Callable[[str], Principal]
) -> list[grpc.aio.ServerInterceptor]:  # type: ignore[type-arg]
    """Our interceptors, outermost first: the call's log context, then errors to statuses,
    then the caller's token (and only then the request's bytes), then, innermost, roles and
    the audit log, which need the authenticated caller. They run as one :class:`CallChain`
    (built once per method). tests/server runs this same chain."""
    layers: list[WrappingInterceptor] = [
        ContextInterceptor(),
        ErrorInterceptor(),
        AuthInterceptor(verify),
        AccessInterceptor(audit),
    ]
    return [CallChain(layers)]


def tracing_interceptors(settings: Settings) -> list[Any]:
    """Outermost: the RPC's span covers everything below, and the job's trace starts here
    (core/tracing.py); health probes would only add noise. None when tracing is off: the
    interceptor costs even with no SDK installed (core/tracing.py ``tracing_enabled``)."""
    if not tracing_enabled(settings):
        return []
    # Imported only when tracing is on (about 40 ms of a start otherwise).
    from opentelemetry.instrumentation.grpc import aio_server_interceptor, filters

    # The package ships no type hints, hence the ignore.
    return [
        aio_server_interceptor(  # type: ignore[no-untyped-call]
            filter_=filters.negate(filters.health_check())
        )
    ]


async def start_server(settings: Settings, *, embed: Embed | None = None) -> RunningServer:
    """Start the server, and ``embed`` on its runtime when given; returns once SERVING. Port 0
    in settings binds a free port."""
    settings = await resolve_secrets(settings)
    runtime = await open_runtime(settings)
    server = grpc.aio.server(
        interceptors=[
            *tracing_interceptors(settings),
            *call_interceptors(
                runtime.audit,
                TokenCache(
                    functools.partial(
                        verify_token_until,
                        secret=signing_secret(settings),
                        issuer=settings.jwt_issuer,
                        audience=settings.jwt_audience,
                        max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
                    )
                ),
            ),
        ],
        options=[
            ("grpc.max_receive_message_length", 5 << 20),
            ("grpc.keepalive_time_ms", 30_000),
            # A second server on a taken port must fail, not silently share it.
            ("grpc.so_reuseport", 0),
        ],
    )
    pb_grpc.add_TranscriptionServiceServicer_to_server(TranscriptionService(runtime), server)
    health_servicer = AsyncHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    credentials = _credentials(settings)
    try:
        if credentials is None:
            port = server.add_insecure_port(settings.grpc_listen)
        else:
            port = server.add_secure_port(settings.grpc_listen, credentials)
    except RuntimeError as exc:
        await runtime.aclose()
        raise RuntimeError(f"cannot listen on {settings.grpc_listen}: is it taken?") from exc
    await server.start()

    running: RunningServer | None = None

    def is_serving() -> bool:
        return running is not None and running.serving

    host, http_port = _split(settings.http_listen)
    http, bound_http = await start_side_port(
        build_app(is_serving), host, http_port, ssl_context=side_port_tls(settings)
    )
    workers = embed(runtime) if embed is not None else None
    running = RunningServer(
        settings=settings,
        runtime=runtime,
        server=server,
        health=health_servicer,
        http=http,
        workers=workers,
        port=port,
        http_port=bound_http,
    )
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    running.serving = True
    log.info(
        "serving gRPC on %s (port %d), HTTP side port %d, workers %s",
        settings.grpc_listen,
        port,
        bound_http,
        "on" if workers else "off",
        extra={"grpc_port": port, "http_port": bound_http},
    )
    return running
