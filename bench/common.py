"""Shared pieces of the benchmarks: a server in a child process or its settings in this one,
timing, results."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent


def in_process_settings(folder: Path, **overrides: Any) -> Settings:
    """Settings for a server started in this process: data in ``folder``, free loopback
    ports, a signing secret of its own; ``overrides`` name the setting being measured."""
    return Settings(
        data_dir=folder,
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        jwt_secret="bench-" + "x" * 40,
        **overrides,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process ``pid`` has used, from /proc: on a machine
    shared with other work, a server's CPU per call moves far less than its calls per
    second."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class ChildServer:
    """A `consulta serve` process on loopback ports."""

    proc: subprocess.Popen[bytes]
    grpc_port: int
    http_port: int
    secret: str
    started: float
    ready_after: float
    #: The server's stderr (its JSON log), inside the data folder removed on exit.
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"


@contextmanager
def child_server(extra_env: dict[str, str] | None = None) -> Iterator[ChildServer]:
    """Start `consulta serve` with a fresh data folder; stop it (SIGTERM) on exit."""
    with tempfile.TemporaryDirectory(prefix="consulta-bench-") as folder:
        grpc_port, http_port = free_port(), free_port()
        secret = "bench-secret-" + os.urandom(16).hex()
        env = {
            **os.environ,
            "CONSULTA_DATA_DIR": folder,
            "CONSULTA_GRPC_LISTEN": f"127.0.0.1:{grpc_port}",
            "CONSULTA_HTTP_LISTEN": f"127.0.0.1:{http_port}",
            "CONSULTA_JWT_SECRET": secret,
            **(extra_env or {}),
        }
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(BIN / "consulta"), "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(Path(folder) / "server.log").open("wb"),
        )
        try:
            deadline = started + 120
            while True:
                if proc.poll() is not None:
                    raise RuntimeError((Path(folder) / "server.log").read_text()[-2000:])
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{http_port}/readyz", timeout=1
                    ) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.perf_counter() > deadline:
                    raise RuntimeError("server did not become ready in 120 s")
                time.sleep(0.02)
            ready = time.perf_counter() - started
            yield ChildServer(
                proc, grpc_port, http_port, secret, started, ready, Path(folder) / "server.log"
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def fresh_postgres(database: str) -> str:
    """Drop and create ``database`` on the local PostgreSQL, migrate it; its URL."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from core.db.migrate import upgrade_engine

    admin = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        await conn.execute(text(f"CREATE DATABASE {database}"))
    await admin.dispose()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    engine = create_async_engine(url)
    await upgrade_engine(engine)
    await engine.dispose()
    return url


def write_results(figures: dict[str, float | int | str]) -> Path:
    """Merge figures into bench/results/latest.json (a flat object)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    current: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
    current.update(figures)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return path
