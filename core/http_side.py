"""The HTTP side port of servers and workers: /healthz (the process is up), /readyz (serving:
for a server, gRPC health is SERVING; for a worker, it is consuming), /metrics.

An AWS NLB cannot run gRPC health checks, so its target group asks /readyz, which follows
the same serving status the gRPC health service reports.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.settings import Settings

log = logging.getLogger(__name__)


def build_app(is_serving: Callable[[], bool]) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if is_serving():
            return web.Response(text="SERVING\n")
        return web.Response(status=503, text="NOT_SERVING\n")

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


class _QuietBadRequests(logging.Filter):
    """aiohttp logs any request it cannot parse as an ERROR with a traceback. On this port
    that is almost always a client pointed at the wrong port (a gRPC client speaking HTTP/2,
    a TLS handshake), not a fault of ours: say so in one line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, BadHttpMessage):
            log.warning(
                "refused a request the side port could not parse (%s); only HTTP/1.1 "
                "/healthz, /readyz and /metrics are served here, gRPC is on the other port",
                type(exc).__name__,
            )
            return False
        return True


_request_log = logging.getLogger(__name__ + ".requests")
_request_log.addFilter(_QuietBadRequests())


def side_port_tls(settings: Settings) -> ssl.SSLContext | None:
    """HTTPS with the process's gRPC certificate when it has one; no client certificate is
    asked for, since load balancers' health checks have none."""
    if not settings.tls_cert_file:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return context


async def start_side_port(
    app: web.Application, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (to clean up) and the bound port (for port 0)."""
    runner = web.AppRunner(app, access_log=None, logger=_request_log)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    bound = port
    for address in runner.addresses:  # the real port when asked for port 0
        bound = int(address[1])
    return runner, bound
