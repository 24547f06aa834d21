"""What only the RabbitMQ queue promises: its wire format, recovery and fast failure."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest

from core.errors import Unavailable
from core.queue.base import Delivery
from core.queue.rabbitmq import ATTEMPT_HEADER, REASON_HEADER, RabbitJobQueue
from tests.support import eventually
from tests.support.services import close_rabbitmq_connections

pytestmark = pytest.mark.stack


@pytest.fixture
async def queue(rabbitmq_url: str) -> AsyncIterator[RabbitJobQueue]:
    prefix = f"test-{uuid.uuid4().hex[:12]}.consulta"
    rabbit = RabbitJobQueue(
        rabbitmq_url,
        prefix=prefix,
        max_attempts=2,
        retry_delays=(0.1,),
        publish_timeout=2.0,
        reconnect_interval=0.2,
        connection_name=f"consulta test {prefix}",
    )
    try:
        yield rabbit
    finally:
        await rabbit.delete_queues()
        await rabbit.aclose()


@pytest.fixture
async def raw_channel(rabbitmq_url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A plain channel to look at what the adapter put on the broker."""
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        yield await connection.channel()


async def test_messages_are_persistent_json_with_an_attempt_header(
    queue: RabbitJobQueue, raw_channel: aio_pika.abc.AbstractChannel
) -> None:
    await queue.publish("job-42")

    jobs = await raw_channel.get_queue(queue.jobs_queue, ensure=False)
    message = await jobs.get(no_ack=True, timeout=5)
    assert json.loads(message.body) == {"job_id": "job-42"}
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.headers[ATTEMPT_HEADER] == 1


async def test_the_jobs_queue_is_a_durable_quorum_queue(
    queue: RabbitJobQueue, raw_channel: aio_pika.abc.AbstractChannel
) -> None:
    await queue.publish("job-1")
    # Declaring with other arguments fails when the queue is not what the adapter promises.
    declared = await raw_channel.declare_queue(
        queue.jobs_queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": 20,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue.dead_queue,
        },
    )
    assert declared.declaration_result.message_count == 1
    assert queue.retry_queues == {0.1: f"{queue.jobs_queue}.retry.100ms"}


async def test_dead_letters_say_why(queue: RabbitJobQueue) -> None:
    async def handler(delivery: Delivery) -> None:
        raise RuntimeError("decoder crashed")

    stop = asyncio.Event()
    task = asyncio.create_task(queue.consume(handler, concurrency=1, stop=stop))
    await queue.publish("job-bad")
    [dead] = await eventually(queue.peek_dead_letters, what="a dead letter")
    stop.set()
    await asyncio.wait_for(task, timeout=10)

    assert (dead.job_id, dead.attempt) == ("job-bad", 1)
    assert dead.reason == "RuntimeError: decoder crashed"
    # Peeking leaves the dead letters in their queue.
    assert [d.job_id for d in await queue.peek_dead_letters()] == ["job-bad"]
    assert REASON_HEADER.startswith("x-consulta-")


async def test_a_malformed_message_is_dead_lettered_not_looped(
    queue: RabbitJobQueue, raw_channel: aio_pika.abc.AbstractChannel
) -> None:
    await queue.depth()  # declares the topology
    await raw_channel.default_exchange.publish(
        aio_pika.Message(b"\x80\x04pickle?"), routing_key=queue.jobs_queue
    )
    seen: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery)

    stop = asyncio.Event()
    task = asyncio.create_task(queue.consume(handler, concurrency=1, stop=stop))
    [dead] = await eventually(queue.peek_dead_letters, what="a dead letter")
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert seen == []
    assert dead.reason.startswith("malformed message")


async def test_consumers_recover_when_the_broker_closes_the_connection(
    queue: RabbitJobQueue,
) -> None:
    handled: list[str] = []
    in_flight = asyncio.Event()
    release = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        if delivery.job_id == "job-in-flight" and not release.is_set():
            in_flight.set()
            await release.wait()
        handled.append(delivery.job_id)

    async def publish_after_recovery() -> bool:
        try:
            await queue.publish("job-after")
        except Unavailable:
            return False
        return True

    stop = asyncio.Event()
    task = asyncio.create_task(queue.consume(handler, concurrency=2, stop=stop))
    try:
        await queue.publish("job-before")
        await eventually(lambda: "job-before" in handled, what="job-before handled")
        await queue.publish("job-in-flight")
        await asyncio.wait_for(in_flight.wait(), timeout=10)

        closed = await asyncio.to_thread(close_rabbitmq_connections, queue.connection_name)
        assert closed == 1
        # The in-flight handler finishes on a dead channel: its ack is lost, so the broker
        # must deliver the message again after the reconnect.
        release.set()

        await eventually(publish_after_recovery, within=15, interval=0.2, what="publish again")
        await eventually(
            lambda: {"job-in-flight", "job-after"} <= set(handled),
            within=15,
            what="every job handled after the reconnect",
        )
    finally:
        release.set()
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    assert handled.count("job-before") == 1
    assert await queue.depth() == 0
    assert await queue.peek_dead_letters() == []


async def test_publish_fails_fast_when_the_broker_is_down() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on ``port`` now: connecting is refused at once.
    down = RabbitJobQueue(f"amqp://guest:guest@127.0.0.1:{port}/", publish_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await down.publish("job-1")
    with pytest.raises(Unavailable):
        await down.depth()
    assert time.monotonic() - started < 3.0
    await down.aclose()
