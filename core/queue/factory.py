"""Builds the job queue that ``settings.queue_url`` names."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.amqp_connections import AmqpConnections
from core.queue.base import JobQueue
from core.settings import Settings


def build_job_queue(settings: Settings, amqp: AmqpConnections | None = None) -> JobQueue:
    """``memory://`` -> in-process; ``amqp://`` or ``amqps://`` -> RabbitMQ, on the process's
    connection to that broker from ``amqp`` (else on a connection of the queue's own).

    Nothing connects here: the RabbitMQ queue connects on its first call, so this can run
    outside an event loop. Close the queue with ``await queue.aclose()``.
    """
    url = settings.queue_url
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from core.queue.memory import MemoryJobQueue

        return MemoryJobQueue(
            max_attempts=settings.queue_max_attempts,
            retry_delays=settings.queue_retry_delays_seconds,
        )
    if scheme in ("amqp", "amqps"):
        from core.queue.rabbitmq import RabbitJobQueue

        return RabbitJobQueue(
            amqp.get(url) if amqp is not None else url,
            prefix=settings.rabbitmq_prefix,
            prefetch=settings.queue_prefetch,
            max_attempts=settings.queue_max_attempts,
            retry_delays=settings.queue_retry_delays_seconds,
        )
    raise ValueError(f"queue_url {url!r}: expected memory:// or amqp://user:pass@host:5672/vhost")
