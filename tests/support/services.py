"""The real services the integration tests need, and a check that they are up.

Tests call ``require_postgres()`` / ``require_rabbitmq()``; when the service is down they fail
(never skip) with the command that starts it. ``python -m tests.support.services check``
checks both for ``make services``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

#: Where the development machines run PostgreSQL (trust auth, database ``test``).
POSTGRES_URL = os.environ.get(
    "CONSULTA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
#: Where the development machines run RabbitMQ (guest/guest).
RABBITMQ_URL = os.environ.get("CONSULTA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_RABBITMQ = "rabbitmq-server -detached"
LIST_CONNECTIONS = [
    "rabbitmqctl",
    "list_connections",
    "pid",
    "client_properties",
    "--quiet",
    "--no-table-headers",
]


def _reachable(url: str, default_port: int, timeout: float = 2.0) -> str | None:
    """None when something accepts TCP connections at the URL's host and port, else why not."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it is listening."""
    problem = _reachable(POSTGRES_URL, 5432)
    return problem and f"PostgreSQL is not running ({problem}); start it with: {START_POSTGRES}"


def rabbitmq_problem() -> str | None:
    """Why RabbitMQ cannot be used, or None when it is listening."""
    problem = _reachable(RABBITMQ_URL, 5672)
    return problem and f"RabbitMQ is not running ({problem}); start it with: {START_RABBITMQ}"


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


def check() -> int:
    """Print each service's state; exit status 1 when one is down."""
    problems = [p for p in (postgres_problem(), rabbitmq_problem()) if p]
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("PostgreSQL and RabbitMQ are up.")
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:] != ["check"]:
        sys.exit("usage: python -m tests.support.services check")
    sys.exit(check())
