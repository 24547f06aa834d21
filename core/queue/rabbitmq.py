"""The job queue on RabbitMQ (aio-pika), for servers and workers in separate processes.

Topology, declared on first use (names start with ``prefix``, ``consulta`` by default):

- ``consulta.jobs``: the work queue. A quorum queue: replicated and fsynced by Raft, it is the
  queue type RabbitMQ recommends when losing a message matters, and it dead-letters a message
  that crashes consumers over and over (``x-delivery-limit``) instead of looping forever.
- ``consulta.jobs.retry.<delay>``: one classic durable queue per delay of the retry ladder,
  without consumers. Its per-queue TTL expires messages in order, and expired messages are
  dead-lettered back to ``consulta.jobs``: a delayed retry with no timer in any process.
- ``consulta.jobs.dead``: messages that will not be tried again, with the reason in a header.

Messages are persistent JSON ``{"job_id": ...}`` with the try number in the
``x-consulta-attempt`` header and, when tracing is on, the W3C ``traceparent`` and
``tracestate`` headers (core/tracing.py), published with publisher confirms; consumers ack
manually after the handler's outcome is settled. The connection is ``connect_robust``: after a
broker restart it reconnects, re-declares the topology and resumes consumers. Unacknowledged
messages of a lost connection are redelivered by the broker, which is harmless (workers claim
jobs with a conditional update).

The connection is the process's one AMQP connection (core/amqp.py), shared with the event
bus; the queue publishes on a channel of its own and each consumer has another. Connects
lazily on the first call; ``aclose()`` stops consumers and closes the connection only when
the queue was built from a URL and so owns it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from core.amqp import BROKER_ERRORS, AmqpConnection, own_or_shared, settle
from core.errors import Unavailable
from core.queue.base import DeadLetter, Delivery, Handler, JobQueue, first_of, run_handler
from core.tracing import producer_span, trace_headers

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-consulta-attempt"
REASON_HEADER = "x-consulta-reason"
#: Redeliveries (consumer crashes, lost connections) before the broker itself dead-letters.
DELIVERY_LIMIT = 20


def delay_label(seconds: float) -> str:
    """``5.0`` -> ``5s``, ``0.25`` -> ``250ms``: a readable, stable part of a queue name."""
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


class RabbitJobQueue(JobQueue):
    """Job ids on a RabbitMQ quorum queue with delayed retries and a dead-letter queue."""

    def __init__(
        self,
        broker: str | AmqpConnection,
        *,
        prefix: str = "consulta",
        prefetch: int = 1,
        max_attempts: int = 5,
        retry_delays: Sequence[float] = (5.0, 30.0, 120.0),
        publish_timeout: float = 5.0,
        reconnect_interval: float = 1.0,
        connection_name: str = "",
    ) -> None:
        """``broker`` is the process's shared connection, or a URL for a connection of the
        queue's own (then named ``connection_name``, by default after the prefix)."""
        if not retry_delays or min(retry_delays) <= 0:
            raise ValueError("retry_delays must be positive seconds")
        self.amqp, self._owns_connection = own_or_shared(
            broker,
            name=connection_name or f"consulta jobs {prefix}",
            timeout=publish_timeout,
            reconnect_interval=reconnect_interval,
        )
        self.prefetch = prefetch
        self.max_attempts = max_attempts
        self.retry_delays = tuple(retry_delays)
        self.publish_timeout = publish_timeout
        self.jobs_queue = f"{prefix}.jobs"
        self.dead_queue = f"{prefix}.jobs.dead"
        self.retry_queues = {d: f"{prefix}.jobs.retry.{delay_label(d)}" for d in self.retry_delays}
        self._publisher: AbstractChannel | None = None
        self._lock = asyncio.Lock()
        self._closing = asyncio.Event()

    @property
    def connection_name(self) -> str:
        """How the queue's connection names itself to the broker."""
        return self.amqp.name

    # -- connection and topology -------------------------------------------------------------

    async def _channel(self) -> AbstractChannel:
        """The publishing channel, opening it and declaring the topology the first time."""
        async with self._lock:
            if self._publisher is not None:
                # A robust channel: aio-pika reopens it after a reconnect.
                return self._publisher
            channel = await self.amqp.channel(publisher_confirms=True, on_return_raises=True)
            try:
                async with asyncio.timeout(self.publish_timeout):
                    await self._declare(channel)
            except BROKER_ERRORS as exc:
                await settle(channel.close())
                raise Unavailable(f"RabbitMQ is unreachable: {exc!r}") from exc
            self._publisher = channel
            return channel

    async def _declare(self, channel: AbstractChannel) -> AbstractQueue:
        """Declare every queue (idempotent); return the jobs queue."""
        jobs = await self._declare_jobs(channel)
        await channel.declare_queue(self.dead_queue, durable=True)
        for delay, name in self.retry_queues.items():
            await channel.declare_queue(
                name,
                durable=True,
                arguments={
                    "x-message-ttl": round(delay * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": self.jobs_queue,
                },
            )
        return jobs

    async def _declare_jobs(self, channel: AbstractChannel) -> AbstractQueue:
        return await channel.declare_queue(
            self.jobs_queue,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.dead_queue,
            },
        )

    def queue_names(self) -> list[str]:
        """Every queue this adapter declares."""
        return [self.jobs_queue, self.dead_queue, *self.retry_queues.values()]

    async def delete_queues(self) -> None:
        """Delete every queue this adapter declared (tests use a prefix of their own)."""
        channel = await self._channel()
        for name in self.queue_names():
            await channel.queue_delete(name)

    # -- publishing --------------------------------------------------------------------------

    async def _send(
        self, queue: str, job_id: str, attempt: int, headers: dict[str, Any] | None = None
    ) -> None:
        """Publish "look at ``job_id``" persistently to ``queue``, waiting for the confirm."""
        body = json.dumps({"job_id": job_id}).encode()
        await self._send_body(queue, body, {ATTEMPT_HEADER: attempt, **(headers or {})})

    async def _send_body(self, queue: str, body: bytes, headers: dict[str, Any]) -> None:
        channel = await self._channel()
        message = aio_pika.Message(
            body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers=headers,
        )
        try:
            await channel.default_exchange.publish(
                message, routing_key=queue, mandatory=True, timeout=self.publish_timeout
            )
        except BROKER_ERRORS as exc:
            raise Unavailable(f"RabbitMQ did not confirm the message: {exc!r}") from exc

    async def publish(self, job_id: str) -> None:
        with producer_span(self.jobs_queue, job_id) as context:
            await self._send(self.jobs_queue, job_id, attempt=1, headers=context)

    async def depth(self) -> int:
        channel = await self._channel()
        try:
            # Declared again, not passively: aio-pika's robust channel answers a passive declare
            # of a queue it knows from its cache, with the count of the first declare.
            queue = await self._declare_jobs(channel)
        except BROKER_ERRORS as exc:
            raise Unavailable(f"RabbitMQ did not answer: {exc!r}") from exc
        return int(queue.declaration_result.message_count or 0)

    async def peek_dead_letters(self) -> list[DeadLetter]:
        """The dead-lettered messages, left in their queue (for inspection and tests)."""
        await self._channel()  # the topology
        found: list[DeadLetter] = []
        # Fetched unacknowledged on a channel of their own; closing it puts them all back.
        async with await self.amqp.transient_channel() as channel:
            queue = await channel.declare_queue(self.dead_queue, durable=True)
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                try:
                    job_id, attempt = _parse(message)
                except ValueError:
                    job_id, attempt = "", 1
                reason = str((message.headers or {}).get(REASON_HEADER, ""))
                found.append(DeadLetter(job_id, attempt, reason))
        return found

    # -- consuming ---------------------------------------------------------------------------

    async def consume(self, handler: Handler, *, concurrency: int, stop: asyncio.Event) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        await self._channel()  # connected, with the topology declared
        slots = asyncio.Semaphore(concurrency)
        running: set[asyncio.Task[None]] = set()
        stopping = False

        async def run(message: AbstractIncomingMessage) -> None:
            async with slots:
                if stopping:
                    # Prefetched but never started: back to the queue for another consumer.
                    await settle(message.nack(requeue=True))
                    return
                await self._handle(handler, message)

        async def on_message(message: AbstractIncomingMessage) -> None:
            # aio-pika awaits this callback before the next delivery: start a task and return
            # so that up to ``concurrency`` handlers run at once.
            task = asyncio.create_task(run(message))
            running.add(task)
            task.add_done_callback(running.discard)

        channel = await self.amqp.channel()
        try:
            try:
                # At least ``concurrency``, or the bound could never be reached.
                await channel.set_qos(prefetch_count=max(self.prefetch, concurrency))
                queue = await self._declare(channel)
                tag = await queue.consume(on_message)
            except BROKER_ERRORS as exc:
                raise Unavailable(f"RabbitMQ refused the consumer: {exc!r}") from exc
            await first_of(stop, self._closing)
            stopping = True
            if not self._closing.is_set():
                # When the queue itself is closing, its connection may be going away with the
                # consumer; cancelling then races the close and aiormq fails the call with
                # the close's bare Exception, which settle() rightly does not swallow. Closing
                # the channel below cancels the consumer anyway.
                await settle(queue.cancel(tag))
            # Stop means "take no more", not "drop what is running": let handlers finish.
            while running:
                await asyncio.gather(*running, return_exceptions=True)
        finally:
            await settle(channel.close())

    async def _handle(self, handler: Handler, message: AbstractIncomingMessage) -> None:
        """Run the handler and settle the message: ack, delayed retry or dead letter."""
        try:
            job_id, attempt = _parse(message)
        except ValueError as exc:
            log.error("malformed job message dead-lettered: %s", exc)
            await self._dead_letter(message, 1, f"malformed message: {exc}")
            return
        context = trace_headers(message.headers or {})
        outcome = await run_handler(
            handler,
            Delivery(job_id=job_id, attempt=attempt, trace_context=context),
            max_attempts=self.max_attempts,
            retry_delays=self.retry_delays,
            destination=self.jobs_queue,
        )
        if outcome.dead_reason is not None:
            await self._dead_letter(message, attempt, outcome.dead_reason)
        elif outcome.retry_after is not None:
            await self._retry_later(message, job_id, attempt, outcome.retry_after)
        else:
            await settle(message.ack())

    async def _retry_later(
        self, message: AbstractIncomingMessage, job_id: str, attempt: int, wanted: float
    ) -> None:
        # Delays come from the fixed set of delay queues: the shortest that waits long enough.
        delay = min((d for d in self.retry_delays if d >= wanted), default=max(self.retry_delays))
        try:
            # The retry stays in the job's trace.
            context = trace_headers(message.headers or {})
            await self._send(self.retry_queues[delay], job_id, attempt + 1, headers=context)
        except Unavailable:
            # Not acked: the broker redelivers this message once the connection is back.
            log.warning("could not schedule a retry; the message will be redelivered")
            return
        await settle(message.ack())

    async def _dead_letter(
        self, message: AbstractIncomingMessage, attempt: int, reason: str
    ) -> None:
        """Move the message, body untouched, to the dead-letter queue with the reason."""
        log.warning("job message dead-lettered after %d attempt(s): %s", attempt, reason[:200])
        headers = {ATTEMPT_HEADER: attempt, REASON_HEADER: reason[:500]}
        try:
            await self._send_body(self.dead_queue, message.body, headers)
        except Unavailable:
            log.warning("could not dead-letter; the message will be redelivered")
            return
        await settle(message.ack())

    async def aclose(self) -> None:
        """Stop consumers (they finish what is running); close the connection if it is the
        queue's own, else only the publishing channel."""
        self._closing.set()
        publisher, self._publisher = self._publisher, None
        if self._owns_connection:
            await self.amqp.aclose()
        elif publisher is not None:
            await settle(publisher.close())


def _parse(message: AbstractIncomingMessage) -> tuple[str, int]:
    """The job id and try number of a message; ValueError when it is not ours."""
    try:
        body = json.loads(message.body)
        job_id = body["job_id"]
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))  # type: ignore[arg-type]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a job message: {message.body[:100]!r}") from exc
    if not isinstance(job_id, str) or not job_id:
        raise ValueError(f"not a job id: {job_id!r}")
    return job_id, max(attempt, 1)
