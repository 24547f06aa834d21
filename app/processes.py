"""The processes a deployment runs, composed from the server and the workers.

``start_server`` is the server with its workers embedded (the default, ``CONSULTA_RUN_WORKER``)
or alone; ``run_server`` and ``run_worker_process`` are ``consulta serve`` and ``consulta
worker``: logs, traces and signals around them, blocking until SIGTERM or SIGINT, then
draining.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from core.heap import freeze_startup_heap
from core.lifecycle import Deadline, run_until_signal
from core.logs import setup_logging
from core.runtime import Runtime
from core.settings import Settings
from core.tracing import flush_tracing, setup_tracing
from server.app import RunningServer
from server.app import start_server as start_bare_server
from server.ports import PortInUse, check_ports
from workers.app import WorkerGroup, worker_main

log = logging.getLogger("consulta.process")


def embedded_workers(runtime: Runtime) -> WorkerGroup:
    """A worker group (consumer and sweeper) on the server's own runtime, started."""
    group = WorkerGroup(runtime)
    group.start()
    return group


async def start_server(settings: Settings, *, run_worker: bool | None = None) -> RunningServer:
    """The server, with its workers inside unless ``run_worker`` is False (None: the
    ``run_worker`` setting); returns once SERVING. Port 0 in settings binds a free port."""
    embed = settings.run_worker if run_worker is None else run_worker
    return await start_bare_server(settings, embed=embedded_workers if embed else None)


def run_server(settings: Settings, *, run_worker: bool | None = None) -> None:
    """``consulta serve``: blocks until SIGTERM or SIGINT, then drains. A taken port is one
    line on stderr and exit status 1, before anything else starts."""
    try:
        check_ports(settings)
    except PortInUse as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
    setup_logging(settings)
    tracing = setup_tracing(settings, "consulta-server")

    async def main(stop: asyncio.Event) -> Deadline:
        running = await start_server(settings, run_worker=run_worker)
        _freeze()
        await stop.wait()
        deadline = await running.stop()
        await flush_tracing(tracing, deadline.remaining())
        return deadline

    run_until_signal(main)


def run_worker_process(settings: Settings) -> None:
    """``consulta worker``: blocks until SIGTERM or SIGINT."""
    setup_logging(settings)
    tracing = setup_tracing(settings, "consulta-worker")

    async def main(stop: asyncio.Event) -> Deadline:
        _freeze()  # before the first job: modules, engines' code, the settings
        deadline = await worker_main(settings, stop)
        await flush_tracing(tracing, deadline.remaining())
        return deadline

    run_until_signal(main)


def _freeze() -> None:
    frozen = freeze_startup_heap()
    log.info("startup heap frozen: %d objects", frozen, extra={"frozen_objects": frozen})
