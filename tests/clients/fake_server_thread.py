"""A thread that serves the client tests' fake service on a real grpc.aio server.

The server runs on its own event loop in a thread so that synchronous CLI tests (whose
commands call asyncio.run) and async client tests can both talk to it. grpc.health.v1 and a
/readyz side port answer like the real ones.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import grpc
from aiohttp import web
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tests.clients.fake_data import SERVICE_NAME


class ServerThread:
    """A grpc.aio server with the fake and grpc.health.v1, on its own loop in a thread."""

    def __init__(
        self,
        fake: pb_grpc.TranscriptionServiceServicer,
        port: int = 0,
        *,
        tls: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.fake = fake
        self.port = port
        self._tls = tls  # (private key PEM, certificate chain PEM)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fake-consulta", daemon=True)
        self._health: Any = None
        self.serving = True
        self.http_port = 0
        self._error: BaseException | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_target(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("The fake server did not start within 10 s.")
        if self._error is not None:
            raise RuntimeError("The fake server failed to start.") from self._error

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def set_serving(self, serving: bool) -> None:
        """Switch both health entries between SERVING and NOT_SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._set_health(status), self._loop)
        future.result(timeout=10)

    async def _set_health(self, status: int) -> None:
        assert self._health is not None
        self.serving = status == health_pb2.HealthCheckResponse.SERVING
        for name in ("", SERVICE_NAME):
            await self._health.set(name, status)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced by start() instead of dying silently
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = grpc.aio.server()
        pb_grpc.add_TranscriptionServiceServicer_to_server(self.fake, server)
        self._health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        address = f"127.0.0.1:{self.port}"
        if self._tls is None:
            self.port = server.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials([self._tls])
            self.port = server.add_secure_port(address, credentials)
        await server.start()
        http = await self._start_side_port()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await http.cleanup()
            await server.stop(grace=None)

    async def _start_side_port(self) -> web.AppRunner:
        """/readyz like the real side port: 200 while SERVING, else 503."""

        async def readyz(_: web.Request) -> web.Response:
            if self.serving:
                return web.Response(text="SERVING\n")
            return web.Response(status=503, text="NOT_SERVING\n")

        app = web.Application()
        app.router.add_get("/readyz", readyz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.http_port = int(runner.addresses[0][1])  # the real port of port 0
        return runner
