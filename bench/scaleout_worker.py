"""One worker process of the scale-out bench: ``consulta worker`` as the scaled stack runs it
(settings from ``CONSULTA_*``, its own runtime, a WorkerGroup with its sweeper), plus the
bench's note engine that only waits.

It connects to PostgreSQL and RabbitMQ (topology declared), prints ``ready`` and waits for
``go`` on stdin before it starts consuming, so that the parent times every worker from the
same instant. End of stdin stops it the way SIGTERM stops ``consulta worker``; it then prints
the CPU seconds it used from ``go`` to its end (``cpu <seconds>``).
"""

from __future__ import annotations

import asyncio
import resource
import sys
from collections.abc import AsyncIterator

from sqlalchemy import text

from core.domain import Note, NoteSection, Transcript
from core.runtime import open_runtime
from core.settings import Settings
from workers.app import WorkerGroup
from workers.engines.base import NoteRequest, NoteUpdate, Summarizer

WAIT = 0.25


class WaitingSummarizer(Summarizer):
    """Waits like a remote model would, then writes a one-line note."""

    name = "bench:wait"

    async def summarize(
        self, transcript: Transcript, request: NoteRequest
    ) -> AsyncIterator[NoteUpdate]:
        await asyncio.sleep(WAIT)
        yield Note(
            template=request.template,
            language=request.language,
            engine=self.name,
            sections=(NoteSection(key="plan", title="Plan"),),
        )


async def _line() -> str:
    return await asyncio.to_thread(sys.stdin.readline)


async def main() -> None:
    runtime = await open_runtime(Settings(), migrate=False)
    group = WorkerGroup(runtime)
    group.engines.register("wait", WaitingSummarizer())
    # Warm up what the first job would otherwise pay for: the broker connection and
    # topology, and the database pool's first connection.
    await runtime.queue.depth()
    async with runtime.store.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    print("ready", flush=True)
    began = _cpu()
    if (await _line()).strip() == "go":
        began = _cpu()
        group.start()
        await _line()  # end of stdin: stop
    await group.stop(5)
    await runtime.aclose()
    print(f"cpu {_cpu() - began:.3f}", flush=True)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    asyncio.run(main())
