"""Running workers: inside the server (embedded default) or as their own process.

On SIGTERM a worker process stops taking messages, gives in-flight jobs the grace period to
finish, then cancels them; a cancelled job is handed back (QUEUED) for another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from aiohttp import web

from core.http_side import build_app, start_side_port
from core.logs import setup_logging
from core.runtime import Runtime, open_runtime
from core.secrets import resolve_secrets
from core.settings import Settings
from workers.engines.registry import Engines
from workers.sweeper import run_sweeper
from workers.worker import Worker

log = logging.getLogger(__name__)


class WorkerGroup:
    """A consumer running ``worker_concurrency`` jobs at once, plus the sweeper."""

    def __init__(self, runtime: Runtime, *, sweeper: bool = True) -> None:
        self.rt = runtime
        self.engines = Engines(runtime.settings)
        self.worker = Worker(runtime, self.engines)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sweeper = sweeper

    def start(self) -> None:
        self._tasks.append(
            asyncio.create_task(
                self.rt.queue.consume(
                    self.worker.handle,
                    concurrency=self.rt.settings.worker_concurrency,
                    stop=self._stop,
                ),
                name="consumer",
            )
        )
        if self._sweeper:
            self._tasks.append(
                asyncio.create_task(run_sweeper(self.rt, self._stop), name="sweeper")
            )

    async def stop(self, grace: float) -> None:
        self._stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.engines.aclose()


@dataclass
class RunningWorker:
    """A worker process's parts: the consumer and sweeper, and its optional side port."""

    settings: Settings
    runtime: Runtime
    group: WorkerGroup
    http: web.AppRunner | None = None
    http_port: int = 0
    consuming: bool = True

    async def stop(self) -> None:
        self.consuming = False
        log.info(
            "worker stopping: finishing in-flight jobs (grace %.0fs)",
            self.settings.shutdown_grace_seconds,
        )
        await self.group.stop(self.settings.shutdown_grace_seconds)
        if self.http is not None:
            await self.http.cleanup()
        await self.runtime.aclose()


async def start_worker(settings: Settings) -> RunningWorker:
    settings = await resolve_secrets(settings)
    runtime = await open_runtime(settings)
    group = WorkerGroup(runtime)
    group.start()
    running = RunningWorker(settings=settings, runtime=runtime, group=group)
    if settings.worker_http_listen:
        host, _, port = settings.worker_http_listen.rpartition(":")
        app = build_app(lambda: running.consuming)
        running.http, running.http_port = await start_side_port(app, host or "0.0.0.0", int(port))
    log.info(
        "worker %s consuming (concurrency %d)",
        group.worker.worker_id,
        settings.worker_concurrency,
    )
    return running


async def worker_main(settings: Settings, stop: asyncio.Event) -> None:
    running = await start_worker(settings)
    try:
        await stop.wait()
    finally:
        await running.stop()


def run_worker_process(settings: Settings) -> None:
    """``consulta worker``: blocks until SIGTERM or SIGINT."""
    setup_logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker_main(settings, stop)

    asyncio.run(main())
