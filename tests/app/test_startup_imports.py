"""A server imports only what its configuration uses: importing is most of the time from
``consulta serve`` to SERVING (bench/results/profile-startup-*.txt). Each check starts a real
server in a fresh interpreter and reads ``sys.modules`` there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.services import require_postgres

_START = """
import asyncio, json, sys
from app.processes import start_server
from core.settings import Settings

async def main():
    running = await start_server(Settings(), run_worker=True)
    await running.stop()

asyncio.run(main())
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {top})))
"""

#: Libraries only a scaled-out or cloud configuration needs.
_OPTIONAL = ("aio_pika", "aiormq", "aioboto3", "boto3", "botocore", "alembic", "opentelemetry")


def _imported_by_a_start(tmp_path: Path, env: dict[str, str]) -> set[str]:
    code = _START.format(top=set(_OPTIONAL))
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **os.environ,
            "CONSULTA_DATA_DIR": str(tmp_path / "var"),
            "CONSULTA_GRPC_LISTEN": "127.0.0.1:0",
            "CONSULTA_HTTP_LISTEN": "127.0.0.1:0",
            "CONSULTA_JWT_SECRET": "startup-imports",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_embedded_default_imports_no_broker_aws_or_tracing_library(tmp_path: Path) -> None:
    imported = _imported_by_a_start(tmp_path, {})
    tops = {name.split(".")[0] for name in imported}
    # SQLite migrates its own file at start, so Alembic is expected here.
    assert tops <= {"alembic", "opentelemetry"}, sorted(imported)
    # The API package alone (no-op spans); not the SDK's gRPC instrumentation.
    assert not any(name.startswith("opentelemetry.instrumentation") for name in imported)


def test_a_server_on_postgresql_does_not_import_the_migration_tool(tmp_path: Path) -> None:
    imported = _imported_by_a_start(tmp_path, {"CONSULTA_DATABASE_URL": require_postgres()})
    # `consulta db upgrade` migrates PostgreSQL as a deploy step; the server never does.
    assert not any(name.split(".")[0] == "alembic" for name in imported), sorted(imported)
