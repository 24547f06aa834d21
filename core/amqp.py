"""One AMQP connection per process and broker, shared by the job queue and the event bus.

A process that runs the RabbitMQ queue and the RabbitMQ bus holds a single robust connection
(aio-pika ``connect_robust``) to their broker; each adapter works on channels of its own.
The runtime (core/runtime.py) makes one :class:`~core.amqp_connections.AmqpConnections` per
process, hands it to both factories, and closes it last. An adapter built from a bare URL
(tests, tools) owns a connection of its own and closes it itself.

Channels come in two kinds:

- :meth:`AmqpConnection.channel`: robust. After a broker restart aio-pika reopens it and
  re-declares its queues, exchanges, bindings and consumers (the queue's consumers, both
  adapters' publishing channels).
- :meth:`AmqpConnection.transient_channel`: a plain channel on the same connection, never
  restored: it dies with a lost connection and its owner starts over (the event relay, which
  re-creates only what is still wanted).

``BROKER_ERRORS`` and :func:`settle` are how every AMQP caller recognises and survives a
broker or network failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustChannel, AbstractRobustConnection
from aio_pika.connection import make_url
from aiormq.exceptions import AMQPError

from core.errors import Unavailable

log = logging.getLogger(__name__)

#: What a broker or network failure looks like through aio-pika (RuntimeError: "Connection
#: was not opened" and ChannelInvalidStateError while a robust connection is reconnecting).
BROKER_ERRORS = (AMQPError, RuntimeError, ConnectionError, OSError, TimeoutError)


async def settle(action: Awaitable[Any]) -> None:
    """Await an ack, nack, cancel or close that may fail because the connection is gone.

    The broker then redelivers unacknowledged messages itself, so there is nothing more to
    do. aiormq cancels its own pending calls when a connection closes; that CancelledError is
    a broker failure too, unless this task itself is being cancelled.
    """
    try:
        await action
    except BROKER_ERRORS as exc:
        log.info("could not settle on a lost channel: %r", exc)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.info("could not settle: the connection closed")


class AmqpConnection:
    """A robust connection to one broker, opened on first use and reopened by aio-pika after
    a broker restart. ``name`` is shown by the broker (``rabbitmqctl list_connections``) so
    that operators can tell processes apart."""

    def __init__(
        self, url: str, *, name: str, timeout: float = 5.0, reconnect_interval: float = 1.0
    ) -> None:
        self.url = url
        self.name = name
        self.timeout = timeout
        self.reconnect_interval = reconnect_interval
        #: Connections opened so far: one for the life of a process, however often aio-pika
        #: reconnects it.
        self.opened = 0
        self._connection: AbstractRobustConnection | None = None
        self._lock = asyncio.Lock()

    async def connection(self) -> AbstractRobustConnection:
        """The connection, opened the first time (bounded by ``timeout``); Unavailable when the
        broker cannot be reached then. Later outages are aio-pika's to recover from."""
        async with self._lock:
            if self._connection is None:
                # aio_pika.connect_robust, but holding the object: a first connect that fails
                # must close it, or aio-pika's __del__ later schedules a close on no loop.
                connection = aio_pika.RobustConnection(
                    make_url(self.url, reconnect_interval=self.reconnect_interval),
                    client_properties={"connection_name": self.name},
                    reconnect_interval=self.reconnect_interval,
                )
                try:
                    async with asyncio.timeout(self.timeout):
                        await connection.connect(timeout=self.timeout)
                except BaseException as exc:
                    await settle(connection.close())
                    if isinstance(exc, BROKER_ERRORS):
                        raise Unavailable(f"RabbitMQ is unreachable: {exc!r}") from exc
                    raise
                self._connection = connection
                self.opened += 1
            return self._connection

    async def channel(
        self, *, publisher_confirms: bool = True, on_return_raises: bool = False
    ) -> AbstractRobustChannel:
        """A new robust channel, restored with what it declared after a reconnect."""
        connection = await self.connection()
        try:
            async with asyncio.timeout(self.timeout):
                channel = connection.channel(
                    publisher_confirms=publisher_confirms, on_return_raises=on_return_raises
                )
                await channel
        except BROKER_ERRORS as exc:
            raise Unavailable(f"RabbitMQ refused a channel: {exc!r}") from exc
        return channel

    async def transient_channel(self) -> AbstractChannel:
        """A new plain channel that dies with the connection and is never restored: its owner
        notices the loss (``close_callbacks``) and opens another once the broker is back. Waits
        (bounded) for a reconnecting connection; Unavailable when it is not back in time."""
        connection = await self.connection()
        try:
            async with asyncio.timeout(self.timeout):
                await connection.ready()
                channel = aio_pika.Channel(connection, publisher_confirms=False)
                await channel
        except BROKER_ERRORS as exc:
            raise Unavailable(f"RabbitMQ refused a channel: {exc!r}") from exc
        return channel

    @property
    def is_open(self) -> bool:
        """Whether a connection was opened and not closed (it may be reconnecting)."""
        return self._connection is not None and not self._connection.is_closed

    async def aclose(self) -> None:
        """Close the connection and every channel on it (a later call opens a new one)."""
        async with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            await settle(connection.close())


def own_or_shared(
    broker: str | AmqpConnection, *, name: str, timeout: float, reconnect_interval: float
) -> tuple[AmqpConnection, bool]:
    """An adapter's connection and whether the adapter owns it: ``broker`` itself when it is
    a shared connection, else a new connection to the URL ``broker``, named ``name``."""
    if isinstance(broker, AmqpConnection):
        return broker, False
    return AmqpConnection(
        broker, name=name, timeout=timeout, reconnect_interval=reconnect_interval
    ), True
