"""One AMQP connection per process (core/amqp.py): a runtime whose queue and bus are both on
RabbitMQ holds exactly one connection to the broker, counted from both ends (the broker's
connection list and this process's sockets), and both adapters recover on it together."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from core.amqp import AmqpConnection
from core.errors import Unavailable
from core.events.rabbitmq import RabbitEventBus
from core.queue.base import Delivery
from core.queue.rabbitmq import RabbitJobQueue
from core.runtime import Runtime, open_runtime
from core.settings import Settings
from tests.support import eventually
from tests.support.services import close_rabbitmq_connections, rabbitmq_connections

pytestmark = pytest.mark.stack


def broker_sockets(url: str) -> int:
    """This process's established TCP connections to the broker's port."""
    port = urlsplit(url).port or 5672
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


@contextlib.asynccontextmanager
async def rabbit_runtime(tmp_path: Path, url: str) -> AsyncIterator[Runtime]:
    """A runtime with the job queue and the event bus on RabbitMQ (names of its own)."""
    settings = Settings(
        data_dir=tmp_path,
        queue_url=url,
        rabbitmq_prefix=f"test-{uuid.uuid4().hex[:12]}.consulta",
        queue_retry_delays_seconds=(0.2,),
    )
    runtime = await open_runtime(settings)
    try:
        assert isinstance(runtime.queue, RabbitJobQueue)
        assert isinstance(runtime.bus, RabbitEventBus)
        yield runtime
    finally:
        with contextlib.suppress(Unavailable):
            if isinstance(runtime.queue, RabbitJobQueue):
                await runtime.queue.delete_queues()
            if isinstance(runtime.bus, RabbitEventBus):
                await runtime.bus.delete_exchange()
        await runtime.aclose()


class Consumer:
    """The runtime's queue consumed in the background, recording the job ids it handles."""

    def __init__(self, runtime: Runtime) -> None:
        self.handled: list[str] = []
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            runtime.queue.consume(self.handle, concurrency=2, stop=self.stop)
        )

    async def handle(self, delivery: Delivery) -> None:
        self.handled.append(delivery.job_id)

    async def aclose(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=10)


def the_one_connection(runtime: Runtime) -> AmqpConnection:
    assert isinstance(runtime.queue, RabbitJobQueue)
    assert isinstance(runtime.bus, RabbitEventBus)
    assert runtime.queue.amqp is runtime.bus.amqp
    [amqp] = runtime.amqp.all()
    assert amqp is runtime.queue.amqp
    return amqp


async def test_a_runtime_holds_one_connection_for_its_queue_and_bus(
    tmp_path: Path, rabbitmq_url: str
) -> None:
    before = broker_sockets(rabbitmq_url)
    async with rabbit_runtime(tmp_path, rabbitmq_url) as runtime:
        assert isinstance(runtime.queue, RabbitJobQueue)
        assert isinstance(runtime.bus, RabbitEventBus)
        consumer = Consumer(runtime)
        try:
            # Every use a process makes of the broker, all open at once: a consumer, the
            # queue's publisher, a dead-letter peek, the bus's publisher and its relay.
            async with runtime.bus.subscribe("job-1") as events:
                assert events.live
                await runtime.queue.publish("job-1")
                await eventually(lambda: consumer.handled == ["job-1"], what="job-1 handled")
                assert await runtime.queue.depth() == 0
                assert await runtime.queue.peek_dead_letters() == []
                await runtime.bus.publish("job-1", b"event")
                assert await asyncio.wait_for(anext(events), timeout=10) == b"event"

                amqp = the_one_connection(runtime)
                assert amqp.opened == 1
                named = await asyncio.to_thread(rabbitmq_connections, amqp.name)
                assert len(named) == 1, named
                assert broker_sockets(rabbitmq_url) - before == 1
        finally:
            await consumer.aclose()
    # Closing the runtime closes it.
    await eventually(lambda: broker_sockets(rabbitmq_url) == before, what="the connection closed")
    assert not amqp.is_open


async def test_queue_and_bus_recover_together_on_the_shared_connection(
    tmp_path: Path, rabbitmq_url: str
) -> None:
    async with rabbit_runtime(tmp_path, rabbitmq_url) as runtime:
        amqp = the_one_connection(runtime)
        consumer = Consumer(runtime)
        try:
            async with runtime.bus.subscribe("job-1") as events:
                await runtime.queue.publish("job-before")
                await eventually(lambda: "job-before" in consumer.handled, what="job-before")

                closed = await asyncio.to_thread(close_rabbitmq_connections, amqp.name)
                assert closed == 1
                await eventually(lambda: not events.live, what="the relay noticing the loss")
                await eventually(lambda: events.live, within=30, what="the relay back")
                assert events.generation == 2

                async def published() -> bool:
                    try:
                        await runtime.queue.publish("job-after")
                    except Unavailable:
                        return False
                    return True

                await eventually(published, within=30, interval=0.2, what="publish again")
                await eventually(
                    lambda: "job-after" in consumer.handled, within=30, what="job-after handled"
                )
                await runtime.bus.publish("job-1", b"after")
                assert await asyncio.wait_for(anext(events), timeout=10) == b"after"

                # Reconnected, not replaced: still one connection, opened once.
                assert amqp.opened == 1
                named = await asyncio.to_thread(rabbitmq_connections, amqp.name)
                assert len(named) == 1, named
        finally:
            await consumer.aclose()


async def test_an_adapter_built_from_a_url_owns_its_connection(rabbitmq_url: str) -> None:
    bus = RabbitEventBus(rabbitmq_url, exchange=f"test-{uuid.uuid4().hex[:12]}.consulta.events")
    shared = AmqpConnection(rabbitmq_url, name=f"consulta test {uuid.uuid4().hex[:12]}")
    queue = RabbitJobQueue(shared, prefix=f"test-{uuid.uuid4().hex[:12]}.consulta")
    try:
        await bus.publish("job-1", b"x")
        await queue.publish("job-1")
        await bus.delete_exchange()
        await queue.delete_queues()
        await bus.aclose()
        await queue.aclose()
        # The bus closed its own connection; the queue left the shared one to its owner.
        assert not bus.amqp.is_open
        assert shared.is_open
    finally:
        await shared.aclose()
    assert not shared.is_open
