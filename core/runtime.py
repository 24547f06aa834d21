"""The adapters one process runs with, built from settings alone.

The server and the worker both open a :class:`Runtime`; which database, blob store, queue and
event bus it holds is decided by URLs in :class:`~core.settings.Settings`, never by branches in
the code above the ports. A RabbitMQ queue and bus share the runtime's one AMQP connection to
their broker (core/amqp.py), which the runtime closes after them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from core.amqp_connections import AmqpConnections
from core.blobstore.base import BlobStore
from core.blobstore.factory import build_blob_store
from core.db.audit_batch import AuditWriter
from core.db.engine import create_engine
from core.db.job_cache import JobCache, cache_enabled
from core.db.store import JobStore, Recorded
from core.db.upload_store import UploadStore
from core.events.base import EventBus
from core.events.factory import build_event_bus
from core.queue.base import JobQueue
from core.queue.factory import build_job_queue
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Settings plus the four ports' adapters, and the AMQP connections they share."""

    settings: Settings
    store: JobStore
    blobs: BlobStore
    queue: JobQueue
    bus: EventBus
    amqp: AmqpConnections = field(default_factory=lambda: AmqpConnections(name="consulta"))
    #: The uploads table, on the job store's engine.
    uploads: UploadStore = field(init=False)
    #: The group-committing writer of the server's audit rows (server/access.py).
    audit: AuditWriter = field(init=False)

    def __post_init__(self) -> None:
        self.uploads = UploadStore(self.store.engine, self.store.job_changed)
        self.audit = AuditWriter(self.store)

    async def publish_events(self, recorded: Recorded | None) -> None:
        """Send stored events on the bus. A failure only delays watchers: they read the
        database when the bus is quiet, so it is logged, not raised."""
        if recorded is None:
            return
        for payload in recorded.events:
            try:
                await self.bus.publish(recorded.job_id, payload)
            except Exception:  # the database already holds the event
                log.warning("event bus publish failed for job %s", recorded.job_id, exc_info=True)

    async def enqueue(self, job_id: str) -> bool:
        """Publish "look at job X". On failure the job stays QUEUED in the database and the
        sweeper publishes it again, so the caller is not failed for it."""
        try:
            await self.queue.publish(job_id)
        except Exception:  # the sweeper republishes QUEUED jobs
            log.warning("queue publish failed for job %s; the sweeper will retry", job_id)
            return False
        return True

    async def aclose(self) -> None:
        await self.audit.drain()
        for closer in (self.queue.aclose, self.bus.aclose, self.blobs.aclose, self.amqp.aclose):
            try:
                await closer()
            except Exception:  # closing must go on
                log.warning("error while closing", exc_info=True)
        await self.store.engine.dispose()
        await self.store.aclose_readers()


def job_cache(settings: Settings) -> JobCache | None:
    """The server's job cache: on by default only where it is exact (core/db/job_cache.py)."""
    if settings.job_cache_entries < 1 or not cache_enabled(
        settings.job_cache, settings.resolved_database_url, settings.queue_url
    ):
        return None
    return JobCache(settings.job_cache_entries, settings.job_cache_ttl_seconds)


async def open_runtime(settings: Settings, *, migrate: bool | None = None) -> Runtime:
    """Build the adapters. ``migrate`` defaults to True for SQLite (the embedded default
    migrates its own file) and False elsewhere (``consulta db upgrade`` is a deploy step)."""
    engine = create_engine(settings)
    if migrate is None:
        migrate = settings.resolved_database_url.startswith("sqlite")
    if migrate:
        # Alembic is imported here, not at the top: a process on PostgreSQL never migrates
        # (about 150-300 ms of imports it would pay at every start).
        from core.db.migrate import upgrade_engine

        await upgrade_engine(engine)
    # Named so that operators tell deployments apart in ``rabbitmqctl list_connections``.
    amqp = AmqpConnections(name=f"consulta {settings.rabbitmq_prefix}")
    return Runtime(
        settings=settings,
        store=JobStore(engine, job_cache(settings)),
        blobs=build_blob_store(settings),
        queue=build_job_queue(settings, amqp),
        bus=build_event_bus(settings, amqp),
        amqp=amqp,
    )
