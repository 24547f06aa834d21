"""The fan-out's own cost, without gRPC: CPU time per event per watcher of ``watch_job`` on
the in-process bus (SQLite), 100 watchers of one job, 200 events.

    .venv/bin/python -m bench.relay_fanout [LAYERS]

``LAYERS`` pass-through async generators around each stream stand for the interceptors'
wrappers (server/app.py has six around WatchJob). CPU time (time.process_time), not wall
time: on a shared 2-core machine the wall time of the same code moved 2x between runs, the
CPU time by a few percent. What gRPC adds per message (serializing, the C core, one sendmsg
per message per stream) is in bench/results/profile-relay-native-before.txt, not here.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from core.auth import Principal
from core.codec import config_to_json, note_delta_event, state_event
from core.db.models import JobRow
from core.domain import JobState
from core.runtime import open_runtime
from core.settings import Settings
from server.watch import watch_job

WATCHERS = 100
EVENTS = 200
OWNER = Principal(subject="bench", tenant="bench")


async def _through(
    stream: AsyncIterator[pb.WatchJobResponse],
) -> AsyncIterator[pb.WatchJobResponse]:
    async for message in stream:
        yield message


async def fanout_us(layers: int = 0) -> float:
    """CPU microseconds per event per watcher."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder), database_url=f"sqlite+aiosqlite:///{folder}/jobs.db"
        )
        runtime = await open_runtime(settings)
        try:
            row = JobRow(
                id=str(uuid.uuid4()),
                owner=OWNER.subject,
                tenant=OWNER.tenant,
                state=JobState.QUEUED.value,
                config_json=config_to_json(job_pb2.JobConfig()),
                language="en",
                template="soap",
                transcriber="local",
                summarizer="local",
                source="text",
                audio_key=None,
                audio_size=0,
                audio_sha256="",
                audio_duration=0.0,
                audio_channels=0,
                idempotency_key=None,
                progress=0.0,
                error_code="",
                error_message="",
                attempts=0,
            )
            await runtime.store.create_job(row, state_event(JobState.QUEUED))
            assert await runtime.store.claim(row.id, "bench", lease_seconds=600) is not None
            snapshots = events = 0
            connected, delivered = asyncio.Event(), asyncio.Event()

            async def watcher() -> None:
                nonlocal snapshots, events
                stream: AsyncIterator[pb.WatchJobResponse] = watch_job(runtime, OWNER, row.id, 0)
                for _ in range(layers):
                    stream = _through(stream)
                async for message in stream:
                    if message.HasField("snapshot"):
                        snapshots += 1
                    else:
                        events += 1
                    if snapshots == WATCHERS and events == WATCHERS:  # and the QUEUED event
                        connected.set()
                    if events == WATCHERS * (EVENTS + 1):
                        delivered.set()

            tasks = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
            await asyncio.wait_for(connected.wait(), 60)
            recorded = [
                await runtime.store.record(
                    row.id, "bench", [note_delta_event("plan", str(n))], lease_seconds=600
                )
                for n in range(EVENTS)
            ]
            start = time.process_time()
            for one in recorded:
                await runtime.publish_events(one)
                await asyncio.sleep(0)
            await asyncio.wait_for(delivered.wait(), 60)
            spent = time.process_time() - start
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await runtime.aclose()
    return spent / (WATCHERS * EVENTS) * 1e6


if __name__ == "__main__":
    layers = int(sys.argv[1]) if sys.argv[1:] else 0
    print({"layers": layers, "fanout_cpu_us_per_message": round(asyncio.run(fanout_us(layers)), 2)})
