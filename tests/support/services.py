"""The real services the integration tests need: tests call ``require_postgres()`` /
``require_rabbitmq()``, which fail (never skip) with the command that starts a service that is
down (the checks themselves are app/devstack/services.py, shared with ``make services``), and
reach into RabbitMQ with ``rabbitmqctl`` as a broker restart or a network cut would.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.devstack.services import (
    POSTGRES_URL,
    RABBITMQ_URL,
    postgres_problem,
    rabbitmq_problem,
)

__all__ = [
    "POSTGRES_URL",
    "RABBITMQ_URL",
    "drop_other_connections",
    "require_postgres",
    "require_rabbitmq",
]

LIST_CONNECTIONS = [
    "rabbitmqctl",
    "list_connections",
    "pid",
    "client_properties",
    "--quiet",
    "--no-table-headers",
]


def require_postgres() -> str:
    """The test database URL; fails the calling test when PostgreSQL is down."""
    if problem := postgres_problem():
        pytest.fail(problem, pytrace=False)
    return POSTGRES_URL


def require_rabbitmq() -> str:
    """The test broker URL; fails the calling test when RabbitMQ is down."""
    if problem := rabbitmq_problem():
        pytest.fail(problem, pytrace=False)
    return RABBITMQ_URL


def rabbitmq_connections(connection_name: str) -> list[str]:
    """The broker's ids of the connections whose client named itself ``connection_name``.

    Uses ``rabbitmqctl``, so it needs no management plugin.
    """
    listed = subprocess.run(
        LIST_CONNECTIONS,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    # Each line: "<rabbit@host.1.2.0>\t[..., {"connection_name","<name>"}, ...]".
    wanted = '{"connection_name",' + json.dumps(connection_name) + "}"
    return [line.split("\t", 1)[0] for line in listed.stdout.splitlines() if wanted in line]


def close_rabbitmq_connections(connection_name: str) -> int:
    """Close, from the broker's side, every connection whose client named itself
    ``connection_name`` (as a broker restart or a network cut would); return how many.
    Other connections are untouched."""
    pids = rabbitmq_connections(connection_name)
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "close_connection", pid, "closed by a test"],
            capture_output=True,
            timeout=30,
            check=True,
        )
    return len(pids)


def rabbitmq_queues(prefix: str, *, node: str | None = None) -> dict[str, int]:
    """Queues whose name starts with ``prefix``, with their consumer counts (rabbitmqctl, so
    no management plugin is needed). Filtered by the caller's own prefix: other test runs
    share the broker."""
    argv = ["rabbitmqctl", *(["-n", node] if node else [])]
    listed = subprocess.run(
        [*argv, "list_queues", "name", "consumers", "--quiet", "--no-table-headers"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    queues: dict[str, int] = {}
    for line in listed.stdout.splitlines():
        name, _, consumers = line.rpartition("\t")
        if name.startswith(prefix):
            queues[name] = int(consumers)
    return queues


async def drop_other_connections(url: str) -> int:
    """Terminate every other session on the test database, as a failover or restart does to
    a server's pooled connections; how many were dropped."""
    admin = create_async_engine(url)
    try:
        async with admin.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return int(result.scalar_one())
    finally:
        await admin.dispose()
