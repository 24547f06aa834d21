"""The scaled-out stack on this machine: SeaweedFS, 2 servers and 2 workers against the local
PostgreSQL and RabbitMQ, as separate processes configured by environment variables alone.

``python -m app.devstack.stack up`` (what ``make stack`` runs) starts everything, writes each
process's pid to ``var/stack/<name>.pid`` and its log to ``var/stack/<name>.log``, and stops
them all on Ctrl-C or SIGTERM. ``python -m app.devstack.stack down`` (``make stack-down``)
stops them from another shell. Servers listen on gRPC 50051/50052 and HTTP 8081/8082.

The signing secret is ``var/jwt.secret``, the same file the CLI reads. The stack speaks TLS
on every port with a development CA and server certificate made once into
``var/stack/tls``, so the CLI needs that CA: ``consulta --ca var/stack/tls/consulta-ca.pem
--server 127.0.0.1:50051 ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.auth import load_or_create_secret

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "var" / "stack"
BIN = Path(sys.executable).parent
DATABASE = "consulta"
S3_PORT = 8333
SERVERS = {"server-1": (50051, 8081), "server-2": (50052, 8082)}
WORKERS = ("worker-1", "worker-2")
TLS = STACK / "tls"


def dev_tls(folder: Path = TLS) -> tuple[Path, Path, Path]:
    """The development CA, server certificate and key (127.0.0.1 and localhost), made into
    ``folder`` when missing or about to expire; returns (ca, cert, key)."""
    from cryptography import x509

    from app.devstack.certs import make_ca

    ca, cert, key = folder / "consulta-ca.pem", folder / "server.pem", folder / "server.key"
    if ca.exists() and cert.exists() and key.exists():
        expires = x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc
        if expires - dt.datetime.now(dt.UTC) > dt.timedelta(days=1):
            return ca, cert, key
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    authority = make_ca("consulta")
    authority.write(folder)
    authority.issue(folder, "server")
    return ca, cert, key


def stack_env(data_dir: Path = STACK) -> dict[str, str]:
    """The settings every stack process shares (CONSULTA_* variables)."""
    from app.devstack.seaweed import ACCESS_KEY, SECRET_KEY

    secret = load_or_create_secret(ROOT / "var" / "jwt.secret")
    _, cert, key = dev_tls()
    return {
        **os.environ,
        "CONSULTA_DATA_DIR": str(data_dir),
        "CONSULTA_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}",
        "CONSULTA_BLOB_URL": "s3://consulta/audio",
        "CONSULTA_S3_ENDPOINT_URL": f"http://127.0.0.1:{S3_PORT}",
        "CONSULTA_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "CONSULTA_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "CONSULTA_S3_CREATE_BUCKET": "true",
        "CONSULTA_QUEUE_URL": "amqp://guest:guest@127.0.0.1:5672/",
        "CONSULTA_JWT_SECRET": secret,
        "CONSULTA_TLS_CERT_FILE": str(cert),
        "CONSULTA_TLS_KEY_FILE": str(key),
        "CONSULTA_WORKER_CONCURRENCY": os.environ.get("CONSULTA_WORKER_CONCURRENCY", "2"),
        "CONSULTA_LEASE_SECONDS": os.environ.get("CONSULTA_LEASE_SECONDS", "15"),
        "CONSULTA_REQUEUE_AFTER_SECONDS": os.environ.get("CONSULTA_REQUEUE_AFTER_SECONDS", "20"),
    }


async def ensure_database() -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


def _start(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (STACK / f"{name}.log").open("ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    (STACK / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    trusting = ssl.create_default_context(cafile=str(dev_tls()[0]))
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.pid} exited early; see var/stack/*.log")
        try:
            url = f"https://127.0.0.1:{port}/readyz"
            with urllib.request.urlopen(url, timeout=1, context=trusting) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered /readyz on port {port} within {timeout:.0f}s")


def _ports_in_use() -> list[int]:
    import socket

    taken = []
    for port in (S3_PORT, *(p for pair in SERVERS.values() for p in pair)):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(port)
    return taken


def up() -> int:
    from app.devstack.services import postgres_problem, rabbitmq_problem

    problems = [p for p in (postgres_problem(), rabbitmq_problem()) if p]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    taken = _ports_in_use()
    if taken:
        print(
            f"ports {taken} are in use on 127.0.0.1 (is `make run` or another stack up?); "
            "stop it first",
            file=sys.stderr,
        )
        return 1
    STACK.mkdir(parents=True, exist_ok=True)
    env = stack_env()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        procs["seaweed"] = _start(
            "seaweed",
            [
                sys.executable,
                "-m",
                "app.devstack.seaweed",
                "serve",
                "--port",
                str(S3_PORT),
                "--dir",
                str(STACK / "seaweed"),
            ],
            env,
        )
        asyncio.run(ensure_database())
        subprocess.run([str(BIN / "consulta"), "db", "upgrade"], env=env, check=True, cwd=ROOT)
        for name, (grpc_port, http_port) in SERVERS.items():
            server_env = {
                **env,
                "CONSULTA_GRPC_LISTEN": f"127.0.0.1:{grpc_port}",
                "CONSULTA_HTTP_LISTEN": f"127.0.0.1:{http_port}",
            }
            procs[name] = _start(name, [str(BIN / "consulta"), "serve", "--no-worker"], server_env)
        for name in WORKERS:
            procs[name] = _start(name, [str(BIN / "consulta"), "worker"], env)
        for name, (_, http_port) in SERVERS.items():
            _wait_ready(http_port, procs[name])
        print(
            "stack up: gRPC over TLS on 127.0.0.1:50051 and :50052 (CA "
            f"{dev_tls()[0].relative_to(ROOT)}); logs and pids in var/stack; Ctrl-C stops"
        )
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None and name.startswith("server"):
                    print(f"{name} exited ({proc.returncode}); stopping the stack")
                    stopping = True
            time.sleep(0.5)
    finally:
        _stop_all(procs)
    return 0


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    order = [n for n in procs if n != "seaweed"] + (["seaweed"] if "seaweed" in procs else [])
    for name in order:
        if procs[name].poll() is None:
            procs[name].send_signal(signal.SIGTERM)
    for name in order:
        try:
            procs[name].wait(timeout=40)
        except subprocess.TimeoutExpired:
            procs[name].kill()
        (STACK / f"{name}.pid").unlink(missing_ok=True)


def down() -> int:
    pids = sorted(STACK.glob("*.pid"))
    for pid_file in pids:
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pid_file.unlink(missing_ok=True)
    deadline = time.monotonic() + 45
    for pid_file in pids:
        while pid_file.exists() and time.monotonic() < deadline:
            try:
                os.kill(int(pid_file.read_text()), 0)
            except (ProcessLookupError, ValueError, FileNotFoundError):
                pid_file.unlink(missing_ok=True)
                break
            time.sleep(0.2)
    print(f"stopped {len(pids)} processes")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m app.devstack.stack")
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args()
    return up() if args.command == "up" else down()


if __name__ == "__main__":
    raise SystemExit(main())
