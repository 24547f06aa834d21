"""Builds the event bus that ``settings.resolved_events_url`` names."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.amqp_connections import AmqpConnections
from core.events.base import EventBus
from core.settings import Settings


def build_event_bus(settings: Settings, amqp: AmqpConnections | None = None) -> EventBus:
    """``memory://`` -> in-process; ``amqp://`` or ``amqps://`` -> RabbitMQ topic exchange, on
    the process's connection to that broker from ``amqp`` (else on a connection of its own).

    Nothing connects here: the RabbitMQ bus connects on its first call, so this can run outside
    an event loop. Close the bus with ``await bus.aclose()``.
    """
    url = settings.resolved_events_url
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from core.events.memory import MemoryEventBus

        return MemoryEventBus()
    if scheme in ("amqp", "amqps"):
        from core.events.rabbitmq import RabbitEventBus

        return RabbitEventBus(
            amqp.get(url) if amqp is not None else url,
            exchange=f"{settings.rabbitmq_prefix}.events",
        )
    raise ValueError(f"events_url {url!r}: expected memory:// or amqp://user:pass@host:5672/vhost")
