"""A process's life after SIGTERM, within one deadline: ``shutdown_grace_seconds`` for
in-flight calls and jobs, then at most ``CLOSE_SECONDS`` more for everything else.

Every stage after the grace (cancelled calls unwinding, workers handing jobs back, the HTTP
side port, adapters, threads) gets what is left of the same deadline and is abandoned
when it runs out, so an orchestrator that kills at grace + a little never has to.

Threads are the last stage: engines run blocking work (faster-whisper) in the event loop's
executor, and Python joins those threads at exit however long they take. Their jobs have
been handed back by then, so when they are still busy at the deadline the process exits
without waiting for them; and it never waits for the interpreter's finalization either.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds after the grace for closing everything; the issue's bound is grace + 2 s.
CLOSE_SECONDS = 1.0


class Deadline:
    """One point in time that every shutdown stage shares."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())


async def bounded(step: Awaitable[T], deadline: Deadline, what: str) -> T | None:
    """``step``'s result if it finishes before ``deadline``; else it is cancelled (and not
    waited for: a step that shields itself must not hold the process) and logged."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=deadline.remaining())
    if task not in done:
        task.cancel()
        log.warning("shutdown: %s did not finish in time; going on without it", what)
        return None
    try:
        return task.result()
    except Exception:  # closing must go on
        log.warning("shutdown: %s failed", what, exc_info=True)
        return None


def run_until_signal(main: Callable[[asyncio.Event], Awaitable[Deadline]]) -> None:
    """Run ``main(stop)``; SIGTERM or SIGINT sets ``stop``. ``main`` returns the deadline by
    which the process must be gone.

    Not ``asyncio.run``: its clean-up waits for every leftover task and executor thread
    without a bound. Here they get what is left of the deadline, and the process exits
    without them when that runs out.
    """
    executor = ThreadPoolExecutor(thread_name_prefix="consulta")
    loop = asyncio.new_event_loop()
    loop.set_default_executor(executor)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    deadline = loop.run_until_complete(main(stop))
    leftovers = asyncio.all_tasks(loop)
    for task in leftovers:
        task.cancel()
    if leftovers:
        log.debug("shutdown: cancelling %s", sorted(t.get_name() for t in leftovers))
        loop.run_until_complete(asyncio.wait(leftovers, timeout=deadline.remaining()))
    closer = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, daemon=True)
    closer.start()
    closer.join(deadline.remaining())
    if closer.is_alive() or any(not t.done() for t in leftovers):
        log.warning("shutdown: work still running at the deadline; exiting without it")
    else:
        closing = loop.create_task(loop.shutdown_asyncgens())
        loop.run_until_complete(asyncio.wait({closing}, timeout=max(0.1, deadline.remaining())))
    # Everything is closed and the jobs handed back. The interpreter's own finalization
    # (collecting every module of faster-whisper, PyAV, SQLAlchemy...) took 5-10 s on a busy
    # machine, past any deadline, and has nothing left to save: exit without it.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
