"""Running workers: a group inside the server (embedded default) or as their own process.

On stop a worker stops taking messages, gives in-flight jobs the grace period to finish, then
cancels them; a cancelled job is handed back (QUEUED) for another worker. The ``consulta
worker`` process (logs, traces, signals) and the embedding in the server are wired by the
composition root (app/processes.py): workers never import the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiohttp import web

from core.http_side import build_app, side_port_tls, start_side_port
from core.lifecycle import CLOSE_SECONDS, Deadline, bounded
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

    async def stop(self, grace: float, deadline: Deadline | None = None) -> None:
        """Take no more jobs; running ones get ``grace`` seconds, then are cancelled (each
        hands its job back) and everything is done by ``deadline``."""
        deadline = deadline or Deadline(grace + CLOSE_SECONDS)
        self._stop.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=min(grace, deadline.remaining()))
            # Twice: an engine waiting for its thread behind asyncio.shield lets go only at
            # the second cancel, and then the job is handed back at once.
            for _ in range(2):
                jobs = list(self.worker.running)
                for job in jobs:
                    job.cancel()
                if jobs:
                    await asyncio.wait(jobs, timeout=min(0.5, deadline.remaining()))
            for task in self._tasks:
                task.cancel()
            await asyncio.wait(self._tasks, timeout=max(0.01, deadline.remaining()))
            for task in self._tasks:
                if task.done() and not task.cancelled():
                    with contextlib.suppress(Exception):
                        task.result()
        await bounded(self.engines.aclose(), deadline, "closing engines")


@dataclass
class RunningWorker:
    """A worker process's parts: the consumer and sweeper, and its optional side port."""

    settings: Settings
    runtime: Runtime
    group: WorkerGroup
    http: web.AppRunner | None = None
    http_port: int = 0
    consuming: bool = True

    async def stop(self) -> Deadline:
        grace = self.settings.shutdown_grace_seconds
        deadline = Deadline(grace + CLOSE_SECONDS)
        self.consuming = False
        log.info("worker stopping: finishing in-flight jobs (grace %.0fs)", grace)
        await self.group.stop(grace, deadline)
        if self.http is not None:
            await bounded(self.http.cleanup(), deadline, "the HTTP side port")
        await bounded(self.runtime.aclose(), deadline, "closing adapters")
        log.info("worker stopped, %.2f s before the deadline", deadline.remaining())
        return deadline


async def start_worker(settings: Settings) -> RunningWorker:
    settings = await resolve_secrets(settings)
    runtime = await open_runtime(settings)
    group = WorkerGroup(runtime)
    group.start()
    running = RunningWorker(settings=settings, runtime=runtime, group=group)
    if settings.worker_http_listen:
        host, _, port = settings.worker_http_listen.rpartition(":")
        app = build_app(lambda: running.consuming)
        running.http, running.http_port = await start_side_port(
            app, host or "0.0.0.0", int(port), ssl_context=side_port_tls(settings)
        )
    log.info(
        "worker %s consuming (concurrency %d)",
        group.worker.worker_id,
        settings.worker_concurrency,
    )
    return running


async def worker_main(settings: Settings, stop: asyncio.Event) -> Deadline:
    running = await start_worker(settings)
    try:
        await stop.wait()
    finally:
        deadline = await running.stop()
    return deadline
