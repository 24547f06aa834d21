"""A loopback HTTP server that plays a provider, with scripted faults and a request log.

Each provider module adds its routes (its wire format) to a :class:`FakeServer`. Before the
normal answer, a handler consults ``faults``: the next request gets the first fault queued
(a status with headers and body, a hang past the client's timeout, a malformed body).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Status:
    """Answer with this HTTP status, headers and JSON body."""

    code: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hang:
    """Never answer (until the test ends): the client's timeout must fire."""


@dataclass(frozen=True, slots=True)
class Malformed:
    """Answer 200 with a body that is not the provider's format."""

    body: bytes = b'{"this is": not json'
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class BreakStream:
    """Start a streamed answer normally, then fail it after ``after`` pieces."""

    after: int = 2


Fault = Status | Hang | Malformed | BreakStream


@dataclass(slots=True)
class Recorded:
    """One request the fake received."""

    path: str
    headers: dict[str, str]
    fields: dict[str, Any]
    at: float


class FakeServer:
    """An aiohttp app on 127.0.0.1, port chosen by the OS."""

    def __init__(self) -> None:
        self.app = web.Application(client_max_size=64 << 20)
        self.faults: deque[Fault] = deque()
        self.requests: list[Recorded] = []
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def reset(self) -> None:
        """Forget faults and requests; free any hanging handler."""
        self.faults.clear()
        self.requests.clear()
        self._release.set()
        self._release = asyncio.Event()

    def record(self, request: web.Request, fields: dict[str, Any]) -> None:
        self.requests.append(
            Recorded(request.path, dict(request.headers), fields, time.monotonic())
        )

    def take_break(self) -> BreakStream | None:
        """The queued BreakStream, if it is next (streaming handlers apply it themselves)."""
        if self.faults and isinstance(self.faults[0], BreakStream):
            fault = self.faults.popleft()
            assert isinstance(fault, BreakStream)
            return fault
        return None

    async def fault(self) -> web.StreamResponse | None:
        """The response for the next queued fault, or None to answer normally."""
        if not self.faults or isinstance(self.faults[0], BreakStream):
            return None
        fault = self.faults.popleft()
        if isinstance(fault, Status):
            return web.json_response(fault.body, status=fault.code, headers=fault.headers)
        if isinstance(fault, Malformed):
            return web.Response(body=fault.body, content_type=fault.content_type)
        release = self._release
        await asyncio.wait_for(release.wait(), timeout=30)
        return web.Response(status=503)
