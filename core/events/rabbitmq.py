"""The event bus on RabbitMQ (aio-pika): servers relay events that workers in other processes
publish.

Events go to the topic exchange ``consulta.events`` with routing key ``job.<job_id>``. Each
subscription is an exclusive, auto-deleted, server-named queue bound to its job's key, so a
subscriber receives only its job's events and the broker forgets the queue when the
subscriber goes. The queue is bounded (``x-max-length``, dropping the oldest) like the
in-process bus: a slow subscriber loses its oldest events and fills the gap from the database.

Events are the fast path, not the record (the database is), so they are transient and sent
without publisher confirms: a lost event costs a subscriber latency, never the event.
Connects lazily on the first call (``connect_robust``: subscriptions come back after a broker
restart); ``aclose()`` closes the connection and ends open subscriptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)

from core.errors import Unavailable
from core.events.base import EventBus
from core.events.memory import Inbox, drain, offer
from core.queue.rabbitmq import BROKER_ERRORS, settle

log = logging.getLogger(__name__)


def routing_key(job_id: str) -> str:
    # Topic keys treat "." as a separator and "*"/"#" as wildcards; job ids are UUIDs, but a
    # key must never match another job's events.
    if not job_id or any(c in job_id for c in ".*#"):
        raise ValueError(f"job id {job_id!r} cannot be a routing key")
    return f"job.{job_id}"


class RabbitEventBus(EventBus):
    """Job events on a RabbitMQ topic exchange, one bound queue per subscription."""

    def __init__(
        self,
        url: str,
        *,
        exchange: str = "consulta.events",
        max_pending: int = 256,
        timeout: float = 5.0,
        reconnect_interval: float = 1.0,
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.max_pending = max_pending
        self.timeout = timeout
        self.reconnect_interval = reconnect_interval
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()
        self._subscribers: dict[str, set[Inbox]] = {}

    async def _ready(self) -> tuple[AbstractChannel, AbstractExchange]:
        """The shared channel and the exchange, connecting the first time."""
        async with self._lock:
            if self._channel is not None and self._exchange is not None:
                return self._channel, self._exchange
            try:
                async with asyncio.timeout(self.timeout):
                    if self._connection is None or self._connection.is_closed:
                        self._connection = await aio_pika.connect_robust(
                            self.url,
                            reconnect_interval=self.reconnect_interval,
                            client_properties={"connection_name": f"consulta {self.exchange_name}"},
                        )
                    channel = await self._connection.channel(publisher_confirms=False)
                    exchange = await channel.declare_exchange(
                        self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                    )
            except BROKER_ERRORS as exc:
                raise Unavailable(f"RabbitMQ is unreachable: {exc!r}") from exc
            self._channel, self._exchange = channel, exchange
            return channel, exchange

    def subscriber_count(self, job_id: str) -> int:
        """Subscriptions open for ``job_id`` in this process (for tests and metrics)."""
        return len(self._subscribers.get(job_id, ()))

    async def publish(self, job_id: str, event: bytes) -> None:
        """Send the event; Unavailable (bounded) when the broker cannot take it. Callers may
        ignore that: subscribers read what they missed from the database."""
        key = routing_key(job_id)
        _, exchange = await self._ready()
        try:
            await exchange.publish(
                aio_pika.Message(event, delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT),
                routing_key=key,
                # No subscriber is the usual case: the event is then simply dropped, not
                # returned to us (aio-pika publishes mandatory by default).
                mandatory=False,
                timeout=self.timeout,
            )
        except BROKER_ERRORS as exc:
            raise Unavailable(f"RabbitMQ did not take the event: {exc!r}") from exc

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        key = routing_key(job_id)
        channel, exchange = await self._ready()
        local: Inbox = asyncio.Queue(maxsize=self.max_pending)

        async def on_message(message: AbstractIncomingMessage) -> None:
            offer(local, message.body)

        try:
            async with asyncio.timeout(self.timeout):
                queue = await channel.declare_queue(
                    exclusive=True,
                    auto_delete=True,
                    arguments={"x-max-length": self.max_pending, "x-overflow": "drop-head"},
                )
                # Bound before the block starts: a publish after entering is received.
                await queue.bind(exchange, routing_key=key)
                tag = await queue.consume(on_message, no_ack=True, exclusive=True)
        except BROKER_ERRORS as exc:
            raise Unavailable(f"RabbitMQ could not subscribe: {exc!r}") from exc
        self._subscribers.setdefault(job_id, set()).add(local)
        try:
            yield drain(local)
        finally:
            subscribers = self._subscribers.get(job_id)
            if subscribers is not None:
                subscribers.discard(local)
                if not subscribers:
                    del self._subscribers[job_id]
            # Exclusive and auto-deleted: should this fail, the broker drops the queue anyway
            # when the connection goes.
            await settle(asyncio.wait_for(queue.cancel(tag), self.timeout))
            await settle(
                asyncio.wait_for(queue.delete(if_unused=False, if_empty=False), self.timeout)
            )

    async def delete_exchange(self) -> None:
        """Delete the exchange (tests use an exchange name of their own)."""
        channel, _ = await self._ready()
        await channel.exchange_delete(self.exchange_name)

    async def aclose(self) -> None:
        for subscribers in self._subscribers.values():
            for local in subscribers:
                offer(local, None)
        if self._connection is not None:
            await settle(self._connection.close())
        self._connection = self._channel = self._exchange = None
