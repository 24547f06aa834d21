"""The real services a development machine runs (PostgreSQL and RabbitMQ), and a check that
they are up. ``python -m app.devstack.services check`` (``make services``) prints each one's
state; ``make stack`` and the tests ask the same functions before they start.
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlsplit

#: Where the development machines run PostgreSQL (trust auth, database ``test``).
POSTGRES_URL = os.environ.get(
    "CONSULTA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
#: Where the development machines run RabbitMQ (guest/guest).
RABBITMQ_URL = os.environ.get("CONSULTA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_RABBITMQ = "rabbitmq-server -detached"


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
        sys.exit("usage: python -m app.devstack.services check")
    sys.exit(check())
