"""Fixtures for the adapter contract tests: each port's fixture is parametrized over its
in-process adapter and its real-service adapter, so both pass the same assertions.

Real-service adapters get fresh state per test: a unique S3 key prefix, unique RabbitMQ queue
and exchange names that are deleted afterwards.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from app.devstack.seaweed import S3Endpoint
from core.blobstore.base import BlobStore
from core.errors import Unavailable
from core.events.base import EventBus
from core.events.rabbitmq import RabbitEventBus
from core.queue.base import JobQueue
from tests.support.services import RABBITMQ_URL, require_rabbitmq

#: Fast retry ladder so that retry tests take fractions of a second.
RETRY_DELAYS = (0.2, 0.4)
MAX_ATTEMPTS = 3
BUCKET = "consulta-test"

S3 = pytest.param("s3", marks=pytest.mark.stack)
RABBITMQ = pytest.param("rabbitmq", marks=pytest.mark.stack)


@pytest.fixture
def retry_delays() -> tuple[float, ...]:
    """The retry ladder every queue under test uses."""
    return RETRY_DELAYS


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    require_rabbitmq()
    return RABBITMQ_URL


def _s3_store(endpoint: S3Endpoint, *, prefix: str, sse: str = "AES256") -> BlobStore:
    from core.blobstore.s3 import S3BlobStore

    return S3BlobStore(
        bucket=BUCKET,
        prefix=prefix,
        endpoint_url=endpoint.url,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        sse=sse,
        part_size=5 << 20,
        create_bucket=True,
    )


@pytest.fixture(params=["local", S3])
async def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        from core.blobstore.local import LocalBlobStore

        store: BlobStore = LocalBlobStore(tmp_path / "blobs")
    else:
        endpoint: S3Endpoint = request.getfixturevalue("s3_endpoint")
        store = _s3_store(endpoint, prefix=f"t-{uuid.uuid4().hex[:12]}")
    try:
        yield store
    finally:
        await store.aclose()


@pytest.fixture(params=["memory", RABBITMQ])
async def job_queue(request: pytest.FixtureRequest) -> AsyncIterator[JobQueue]:
    queue: JobQueue
    if request.param == "memory":
        from core.queue.memory import MemoryJobQueue

        queue = MemoryJobQueue(max_attempts=MAX_ATTEMPTS, retry_delays=RETRY_DELAYS)
        try:
            yield queue
        finally:
            await queue.aclose()
        return
    from core.queue.rabbitmq import RabbitJobQueue

    rabbit = RabbitJobQueue(
        request.getfixturevalue("rabbitmq_url"),
        prefix=f"test-{uuid.uuid4().hex[:12]}.consulta",
        prefetch=8,
        max_attempts=MAX_ATTEMPTS,
        retry_delays=RETRY_DELAYS,
        publish_timeout=2.0,
    )
    try:
        yield rabbit
    finally:
        await rabbit.delete_queues()
        await rabbit.aclose()


@pytest.fixture(params=["memory", RABBITMQ])
async def event_bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    bus: EventBus
    if request.param == "memory":
        from core.events.memory import MemoryEventBus

        bus = MemoryEventBus()
        try:
            yield bus
        finally:
            await bus.aclose()
        return
    rabbit = RabbitEventBus(
        request.getfixturevalue("rabbitmq_url"),
        exchange=f"test-{uuid.uuid4().hex[:12]}.consulta.events",
    )
    try:
        yield rabbit
    finally:
        await rabbit.delete_exchange()
        await rabbit.aclose()


@pytest.fixture
def exchange() -> str:
    """A RabbitMQ topic exchange name of the test's own."""
    return f"test-{uuid.uuid4().hex[:12]}.consulta.events"


@pytest.fixture
async def rabbit_buses(
    rabbitmq_url: str, exchange: str
) -> AsyncIterator[Callable[..., RabbitEventBus]]:
    """Makes RabbitMQ buses on the test's exchange, each with a connection of its own as
    separate processes have (``make(reconnect_interval=...)``); afterwards deletes the
    exchange and closes them all."""
    made: list[RabbitEventBus] = []

    def make(*, reconnect_interval: float = 0.2) -> RabbitEventBus:
        bus = RabbitEventBus(rabbitmq_url, exchange=exchange, reconnect_interval=reconnect_interval)
        made.append(bus)
        return bus

    try:
        yield make
    finally:
        if made:
            with contextlib.suppress(Unavailable):
                await made[0].delete_exchange()
        for bus in reversed(made):
            await bus.aclose()


@pytest.fixture
def worker_bus(rabbit_buses: Callable[..., RabbitEventBus]) -> RabbitEventBus:
    """A publishing bus, as a worker process has."""
    return rabbit_buses()
