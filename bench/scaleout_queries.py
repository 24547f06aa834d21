"""Database round trips a worker spends on one job: the count that scale-out pays for on a
shared machine, independent of its load.

The real Worker runs text jobs with the waiting note engine (no wait) against PostgreSQL;
every message the worker sends the database and waits for is counted: SQL statements
(SQLAlchemy's before_cursor_execute) and the driver's own queries (the pool's ping ``;``,
BEGIN, COMMIT, ROLLBACK, through asyncpg's query logger).

    .venv/bin/python -m bench.scaleout_queries
"""

from __future__ import annotations

import asyncio
import collections
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from consulta.v1 import job_pb2
from sqlalchemy import event

from bench import scaleout_worker
from bench.common import fresh_postgres
from core.codec import config_to_json, state_event
from core.db.models import JobRow
from core.domain import JobState, Segment, Transcript
from core.queue.base import Delivery
from core.runtime import open_runtime
from core.settings import Settings
from workers.app import WorkerGroup

JOBS = 20
_DRIVER = {";", "BEGIN", "COMMIT", "ROLLBACK"}


def _text_job() -> JobRow:
    return JobRow(
        id=str(uuid.uuid4()),
        owner="bench",
        tenant="bench",
        state=JobState.QUEUED.value,
        config_json=config_to_json(job_pb2.JobConfig()),
        language="en",
        template="soap",
        transcriber="local",
        summarizer="wait",
        source="text",
        audio_key=None,
        idempotency_key=None,
        attempts=0,
    )


async def queries_per_job() -> tuple[float, dict[str, float]]:
    database = await fresh_postgres(
        os.environ.get("CONSULTA_BENCH_SCALE_DB", "consulta_bench_scale")
    )
    scaleout_worker.WAIT = 0.0
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            database_url=database,
            queue_url="memory://",
            allowed_summarizers=("local", "wait"),
        )
        runtime = await open_runtime(settings, migrate=False)
        group = WorkerGroup(runtime, sweeper=False)
        group.engines.register("wait", scaleout_worker.WaitingSummarizer())
        counts: collections.Counter[str] = collections.Counter()

        def driver_query(record: Any) -> None:
            words = record.query.split()
            verb = words[0].upper().rstrip(";") if words else ";"
            if (verb or ";") in _DRIVER:
                counts[verb or ";"] += 1

        @event.listens_for(runtime.store.engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(driver_query)

        @event.listens_for(runtime.store.engine.sync_engine, "before_cursor_execute")
        def _statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            counts[statement.split()[0].upper()] += 1

        segment = Segment(id=0, start=0.0, end=1.0, text="Doctor: hi.")
        jobs = [_text_job() for _ in range(JOBS)]
        for job in jobs:
            transcript = Transcript((segment,), language="en", engine="text")
            await runtime.store.create_job(job, state_event(JobState.QUEUED), transcript)
        await runtime.store.engine.dispose()  # a fresh pool: the workers' queries alone
        counts.clear()
        for job in jobs:
            await group.worker.handle(Delivery(job_id=job.id))
        await runtime.aclose()
    per_kind = {kind: round(n / JOBS, 2) for kind, n in sorted(counts.items())}
    return sum(counts.values()) / JOBS, per_kind


def run() -> dict[str, float]:
    total, per_kind = asyncio.run(queries_per_job())
    print(per_kind)
    return {"worker_db_round_trips_per_job": round(total, 2)}


if __name__ == "__main__":
    print(run())
