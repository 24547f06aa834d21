"""Settings URLs pick adapters; nothing above the ports asks which it got."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.blobstore.factory import build_blob_store
from core.blobstore.local import LocalBlobStore
from core.events.factory import build_event_bus
from core.events.memory import MemoryEventBus
from core.queue.factory import build_job_queue
from core.queue.memory import MemoryJobQueue
from core.settings import Settings


async def test_the_embedded_default_is_in_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, queue_max_attempts=7)
    store = build_blob_store(settings)
    queue = build_job_queue(settings)
    bus = build_event_bus(settings)

    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "blobs").resolve()
    assert isinstance(queue, MemoryJobQueue)
    assert queue.max_attempts == 7
    assert isinstance(bus, MemoryEventBus)
    for closable in (store, queue, bus):
        await closable.aclose()


def test_file_urls_name_an_absolute_folder(tmp_path: Path) -> None:
    store = build_blob_store(Settings(blob_url=f"file://{tmp_path}/audio"))
    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "audio").resolve()
    with pytest.raises(ValueError, match="file:///path"):
        build_blob_store(Settings(blob_url="file://relative/path"))


def test_scaled_out_urls_pick_the_service_adapters() -> None:
    from core.blobstore.s3 import S3BlobStore
    from core.events.rabbitmq import RabbitEventBus
    from core.queue.rabbitmq import RabbitJobQueue

    settings = Settings(
        blob_url="s3://audio-bucket/consulta/audio",
        queue_url="amqp://guest:guest@127.0.0.1:5672/",
        s3_sse="AES256",
        queue_prefetch=9,
        rabbitmq_prefix="blue",
    )
    store = build_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix, store.sse) == ("audio-bucket", "consulta/audio/", "AES256")
    queue = build_job_queue(settings)
    assert isinstance(queue, RabbitJobQueue)
    assert queue.prefetch == 9
    assert queue.queue_names()[:2] == ["blue.jobs", "blue.jobs.dead"]
    bus = build_event_bus(settings)
    assert isinstance(bus, RabbitEventBus)
    assert bus.exchange_name == "blue.events"


@pytest.mark.parametrize(
    ("field", "url"),
    [("blob_url", "ftp://x/y"), ("queue_url", "redis://x"), ("events_url", "kafka://x")],
)
def test_unknown_urls_are_refused(field: str, url: str) -> None:
    settings = Settings.model_validate({field: url})
    builders: dict[str, Callable[[Settings], object]] = {
        "blob_url": build_blob_store,
        "queue_url": build_job_queue,
        "events_url": build_event_bus,
    }
    builder = builders[field]
    with pytest.raises(ValueError, match=field):
        builder(settings)


def test_queue_and_bus_on_one_broker_share_the_process_connection() -> None:
    from core.amqp_connections import AmqpConnections
    from core.events.rabbitmq import RabbitEventBus
    from core.queue.rabbitmq import RabbitJobQueue

    same = Settings(queue_url="amqp://guest:guest@127.0.0.1:5672/")
    amqp = AmqpConnections(name="consulta test")
    queue, bus = build_job_queue(same, amqp), build_event_bus(same, amqp)
    assert isinstance(queue, RabbitJobQueue) and isinstance(bus, RabbitEventBus)
    assert queue.amqp is bus.amqp
    assert amqp.all() == [queue.amqp] and queue.connection_name == "consulta test"

    # Another broker for events: a connection to each.
    split = same.model_copy(update={"events_url": "amqp://guest:guest@127.0.0.2:5672/"})
    amqp = AmqpConnections(name="consulta test")
    queue, bus = build_job_queue(split, amqp), build_event_bus(split, amqp)
    assert isinstance(queue, RabbitJobQueue) and isinstance(bus, RabbitEventBus)
    assert queue.amqp is not bus.amqp and len(amqp.all()) == 2
