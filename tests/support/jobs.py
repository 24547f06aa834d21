"""Job rows and job stores for tests that write to the job store directly (bypassing the
RPCs): a fresh store on SQLite or PostgreSQL, a job created (and claimed) in it, a worker's
write of state events, and callers to read it as."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from consulta.v1 import job_pb2

from core.auth import Principal
from core.codec import config_to_json, state_event
from core.db.engine import create_engine
from core.db.job_cache import JobCache
from core.db.migrate import upgrade_engine
from core.db.models import JobRow
from core.db.store import JobStore, Recorded
from core.domain import JobState, Note, Transcript
from core.errors import NotFound
from core.settings import Settings
from tests.e2e.conftest import reset_postgres
from tests.support.services import POSTGRES_URL

#: Callers for the visibility rule: alice's jobs are in clinic-a.
ALICE = Principal("alice", "clinic-a")
BOB = Principal("bob", "clinic-a")
ALICE_ELSEWHERE = Principal("alice", "clinic-b")
SERVICE_A = Principal("svc", "clinic-a", frozenset({"service"}))
SERVICE_B = Principal("svc", "clinic-b", frozenset({"service"}))

#: The worker the helpers write as, and the lease its writes take.
WORKER = "worker-a"
LEASE_SECONDS = 60.0


def new_job_row(owner: str = "alice", tenant: str = "clinic-a", *, live: bool = False) -> JobRow:
    """A new job of ``owner`` with default configuration and local engines: a QUEUED text
    job, or with ``live`` a RECEIVING live upload's job (mono audio, none stored yet)."""
    return JobRow(
        id=str(uuid.uuid4()),
        owner=owner,
        tenant=tenant,
        state=(JobState.RECEIVING if live else JobState.QUEUED).value,
        config_json=config_to_json(job_pb2.JobConfig()),
        language="en",
        template="soap",
        transcriber="local",
        summarizer="local",
        source="audio" if live else "text",
        audio_key=None,
        audio_size=0,
        audio_sha256="",
        audio_duration=0.0,
        audio_channels=1 if live else 0,
        idempotency_key=None,
        progress=0.0,
        error_code="",
        error_message="",
        attempts=0,
    )


@contextlib.asynccontextmanager
async def job_store(
    tmp_path: Path, database: str = "sqlite", cache: JobCache | None = None
) -> AsyncIterator[JobStore]:
    """A job store on a fresh, migrated database: a SQLite file under ``tmp_path``, or with
    ``database`` "postgres" the machine's PostgreSQL with its schema made anew."""
    if database == "postgres":
        await reset_postgres()
        url = POSTGRES_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    engine = create_engine(Settings(data_dir=tmp_path, database_url=url))
    if database != "postgres":
        await upgrade_engine(engine)
    jobs = JobStore(engine, cache)
    try:
        yield jobs
    finally:
        await engine.dispose()
        await jobs.aclose_readers()


async def not_found(store: JobStore, job_id: str, principal: Principal) -> bool:
    """Whether ``principal``'s read of the job is NOT_FOUND."""
    try:
        await store.get_visible(job_id, principal)
    except NotFound:
        return True
    return False


async def queued_job(store: JobStore) -> str:
    """A new QUEUED job of alice in clinic-a, with its first event; its id."""
    row = new_job_row()
    await store.create_job(row, state_event(JobState.QUEUED))
    return row.id


async def claimed_job(store: JobStore, lease_seconds: float = LEASE_SECONDS) -> str:
    """A new QUEUED job that :data:`WORKER` has claimed; its id."""
    job_id = await queued_job(store)
    claimed = await store.claim(job_id, WORKER, lease_seconds=lease_seconds)
    assert claimed is not None and claimed.lease_owner == WORKER
    return job_id


async def record_states(
    store: JobStore,
    job_id: str,
    *states: JobState,
    worker_id: str = WORKER,
    state: JobState | None = None,
    progress: float | None = None,
    transcript: Transcript | None = None,
    note: Note | None = None,
    expected_seq: int | None = None,
) -> Recorded | None:
    """``worker_id``'s write of one state event per ``states`` (lease :data:`LEASE_SECONDS`),
    with the rest as :meth:`JobStore.record` takes it; None when the worker no longer holds
    the job."""
    return await store.record(
        job_id,
        worker_id,
        [state_event(s) for s in states],
        lease_seconds=LEASE_SECONDS,
        state=state,
        progress=progress,
        transcript=transcript,
        note=note,
        expected_seq=expected_seq,
    )
