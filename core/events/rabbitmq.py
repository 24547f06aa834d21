"""The event bus on RabbitMQ (aio-pika): servers relay events that workers in other processes
publish.

Events go to the topic exchange ``<prefix>.events`` with routing key ``job.<job_id>``.

Subscribing (a server's side) goes through one *relay* per process: a task of its own with
its own channel, one exclusive, auto-deleted queue, one consumer, and one binding per job
that has at least one local subscriber. Messages fan out in-process to every
subscription of their job. Watchers never make AMQP calls themselves: subscribing or leaving
only changes the wanted set and wakes the relay, so a watcher that is slow, times out or is
cancelled cannot cancel a call on a channel other watchers share (aiormq closes a channel
whose call was cancelled, which used to fail every stream of the server).

When the connection or channel is lost, every subscription goes not ``live`` (watchers read
the database), and the relay starts over, once the connection is back, on a fresh channel
with a fresh queue bound only to the jobs still wanted; bindings of watchers that left
meanwhile are not re-created (the relay's channel is a transient one, which aio-pika does not
restore). The queue dies with its channel's consumer (auto-delete) or its connection
(exclusive), so no queue outlives the process or its consumer. It is bounded
(``x-max-length``, dropping the oldest): a slow relay loses old events, and watchers fill
the gap from the database.

Events are the fast path, not the record (the database is), so they are transient and sent
without publisher confirms: a lost event costs a subscriber latency, never the event.

Publishing and the relay use the process's one AMQP connection (core/amqp.py), shared with the
job queue, each on a channel of its own. It connects lazily on the first call. ``aclose()``
stops the relay, ends open subscriptions, and closes the connection only when the bus was
built from a URL and so owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractQueue

from core.amqp import BROKER_ERRORS, AmqpConnection, own_or_shared, settle
from core.errors import Unavailable
from core.events.base import EventBus, Subscribers, Subscription

log = logging.getLogger(__name__)

_KEY_PREFIX = "job."


def routing_key(job_id: str) -> str:
    # Topic keys treat "." as a separator and "*"/"#" as wildcards; job ids are UUIDs, but a
    # key must never match another job's events.
    if not job_id or any(c in job_id for c in ".*#"):
        raise ValueError(f"job id {job_id!r} cannot be a routing key")
    return f"{_KEY_PREFIX}{job_id}"


class RabbitEventBus(EventBus):
    """Job events on a RabbitMQ topic exchange; one relaying consumer per process."""

    def __init__(
        self,
        broker: str | AmqpConnection,
        *,
        exchange: str = "consulta.events",
        max_pending: int = 256,
        timeout: float = 5.0,
        reconnect_interval: float = 1.0,
    ) -> None:
        """``broker`` is the process's shared connection, or a URL for a connection of the
        bus's own (named after the exchange). ``reconnect_interval`` is how long the relay
        waits before starting over (and an own connection between reconnects)."""
        self.amqp, self._owns_connection = own_or_shared(
            broker,
            name=f"consulta {exchange}",
            timeout=timeout,
            reconnect_interval=reconnect_interval,
        )
        self.exchange_name = exchange
        self.max_pending = max_pending
        self.timeout = timeout
        self.reconnect_interval = reconnect_interval
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()
        # The relay's state: who wants which job, what the current queue is bound to.
        self._subscribers = Subscribers()
        self._bound: set[str] = set()
        self._wanted_changed = asyncio.Event()
        self._relay: asyncio.Task[None] | None = None
        self._relay_connected = False
        self._relay_queue: str | None = None
        self._closing = False

    @property
    def connection_name(self) -> str:
        """How this bus's connection names itself to the broker."""
        return self.amqp.name

    @property
    def relay_queue(self) -> str | None:
        """The relay's current queue name (it begins with the exchange name), if connected."""
        return self._relay_queue if self._relay_connected else None

    def subscriber_count(self, job_id: str) -> int:
        """Subscriptions open for ``job_id`` in this process (for tests and metrics)."""
        return len(self._subscribers.of(job_id))

    def bound_jobs(self) -> frozenset[str]:
        """Jobs the relay's queue is bound to right now (for tests)."""
        return frozenset(self._bound)

    # -- publishing (workers, and servers for cancel) ------------------------------------

    async def _ready(self) -> tuple[AbstractChannel, AbstractExchange]:
        """The publishing channel and the exchange, connecting the first time."""
        async with self._lock:
            if self._channel is not None and self._exchange is not None:
                return self._channel, self._exchange
            # A robust channel: aio-pika reopens it and re-declares the exchange after a
            # reconnect.
            channel = await self.amqp.channel(publisher_confirms=False)
            try:
                async with asyncio.timeout(self.timeout):
                    exchange = await channel.declare_exchange(
                        self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                    )
            except BROKER_ERRORS as exc:
                await settle(channel.close())
                raise Unavailable(f"RabbitMQ is unreachable: {exc!r}") from exc
            self._channel, self._exchange = channel, exchange
            return channel, exchange

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

    # -- subscribing (servers) -----------------------------------------------------------

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[Subscription]:
        """Register locally and wait (bounded) for the relay to bind the job; a broker that is
        down gives a subscription that is not ``live`` rather than an error."""
        routing_key(job_id)  # refuse a bad id before anything is registered
        subscription = Subscription(
            job_id, max_pending=self.max_pending, live=job_id in self._bound
        )
        if self._closing:
            subscription.end()
        elif not self._relay_connected and self._relay is not None:
            subscription.set_live(False)  # the relay is reconnecting: don't wait for it
        self._subscribers.add(subscription)
        self._ensure_relay()
        try:
            # Waiting here is on a local event, never on a broker call: cancelling it (the
            # watcher went) cancels nothing the relay does.
            await subscription.wait_live(self.timeout)
            yield subscription
        finally:
            # Local bookkeeping only; the relay unbinds in its own time (and shielded from
            # this task's cancellation, since it is not this task).
            if self._subscribers.remove(subscription):
                self._wanted_changed.set()

    def _ensure_relay(self) -> None:
        if self._closing:
            return
        self._wanted_changed.set()
        if self._relay is None or self._relay.done():
            self._relay = asyncio.get_running_loop().create_task(
                self._run_relay(), name=f"event relay {self.exchange_name}"
            )

    async def _run_relay(self) -> None:
        """Connect, follow the wanted set, and start over with a fresh queue when lost."""
        while not self._closing:
            lost = asyncio.Event()
            channel: AbstractChannel | None = None
            try:
                channel = await self.amqp.transient_channel()
                queue, exchange = await self._open_relay(channel, lost)
                self._relay_connected = True
                await self._follow(queue, exchange, lost)
            except (Unavailable, *BROKER_ERRORS) as exc:
                if not self._closing:
                    log.warning(
                        "event relay lost RabbitMQ (%r); watchers read the database until it "
                        "is back",
                        exc,
                    )
            except Exception:  # a bug must not end relaying for the process: start over
                log.exception("event relay failed; starting over")
            finally:
                self._relay_connected = False
                self._bound.clear()
                for subscription in self._subscribers.all():
                    subscription.set_live(False)
                if channel is not None:
                    # Closing it cancels the consumer, which deletes the auto-delete queue.
                    with contextlib.suppress(TimeoutError):
                        await settle(asyncio.wait_for(channel.close(), self.timeout))
            if not self._closing:
                await asyncio.sleep(self.reconnect_interval)  # aclose() cancels this

    async def _open_relay(
        self, channel: AbstractChannel, lost: asyncio.Event
    ) -> tuple[AbstractQueue, AbstractExchange]:
        def on_lost(*_: Any) -> None:
            lost.set()
            self._wanted_changed.set()

        # A transient channel closes when its connection is lost, so this hears of both.
        channel.close_callbacks.add(on_lost)
        async with asyncio.timeout(self.timeout):
            exchange = await channel.declare_exchange(
                self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            # Named after the exchange, so that tests and operators can find it by prefix;
            # fresh per channel, so a late-dying predecessor cannot lock the name.
            name = f"{self.exchange_name}.relay.{uuid.uuid4().hex[:12]}"
            queue = await channel.declare_queue(
                name,
                exclusive=True,
                auto_delete=True,
                arguments={"x-max-length": self.max_pending * 16, "x-overflow": "drop-head"},
            )
            await queue.consume(self._on_message, no_ack=True, exclusive=True)
        self._relay_queue = name
        return queue, exchange

    async def _follow(
        self, queue: AbstractQueue, exchange: AbstractExchange, lost: asyncio.Event
    ) -> None:
        """Keep the queue's bindings equal to the jobs that have subscribers, until lost."""
        while not self._closing and not lost.is_set():
            self._wanted_changed.clear()
            wanted = self._subscribers.jobs()
            for job_id in self._bound - wanted:
                # Forget it first: a subscriber arriving during the call waits for a re-bind.
                self._bound.discard(job_id)
                await queue.unbind(exchange, routing_key(job_id), timeout=self.timeout)
            for job_id in wanted - self._bound:
                await queue.bind(exchange, routing_key(job_id), timeout=self.timeout)
                self._bound.add(job_id)
                # Bound before marked live: whatever is published from here on arrives.
                for subscription in self._subscribers.of(job_id):
                    subscription.set_live(True)
            # Subscribers that came or went during the calls above are handled next round.
            if self._subscribers.jobs() != self._bound:
                self._wanted_changed.set()
            await self._wanted_changed.wait()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        key = message.routing_key or ""
        if not key.startswith(_KEY_PREFIX):
            return
        self._subscribers.deliver(key[len(_KEY_PREFIX) :], message.body)

    # -- housekeeping ----------------------------------------------------------------------

    async def delete_exchange(self) -> None:
        """Delete the exchange (tests use an exchange name of their own)."""
        channel, _ = await self._ready()
        await channel.exchange_delete(self.exchange_name)

    async def aclose(self) -> None:
        self._closing = True
        self._wanted_changed.set()
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError, *BROKER_ERRORS):
                await self._relay
            self._relay = None
        self._subscribers.end_all()
        channel, self._channel, self._exchange = self._channel, None, None
        if self._owns_connection:
            await self.amqp.aclose()
        elif channel is not None:
            await settle(channel.close())
