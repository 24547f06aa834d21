"""A real ``consulta serve`` process for end-to-end tests that need the process itself (its
signals, its exit status, its JSON log): started on free loopback ports with a data folder of
its own, its log read line by line from stderr."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

CLI = Path(sys.executable).parent / "consulta"


async def start_serve(data_dir: Path, secret: str, **settings: str) -> asyncio.subprocess.Process:
    """``consulta serve`` with JSON logs on stderr; ``settings`` are more CONSULTA_* variables
    (``SHUTDOWN_GRACE_SECONDS="3"``)."""
    env = {
        **os.environ,
        "CONSULTA_DATA_DIR": str(data_dir),
        "CONSULTA_GRPC_LISTEN": "127.0.0.1:0",
        "CONSULTA_HTTP_LISTEN": "127.0.0.1:0",
        "CONSULTA_JWT_SECRET": secret,
        "CONSULTA_LOG_FORMAT": "json",
        **{f"CONSULTA_{name}": value for name, value in settings.items()},
    }
    return await asyncio.create_subprocess_exec(
        str(CLI), "serve", env=env, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )


async def log_record(proc: asyncio.subprocess.Process, message: str) -> dict[str, object]:
    """The next JSON log record whose message starts with ``message`` (others are skipped);
    AssertionError when the process exits first."""
    assert proc.stderr is not None
    while line := await asyncio.wait_for(proc.stderr.readline(), 120):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if str(record.get("message", "")).startswith(message):
            return dict(record)
    raise AssertionError(f"the process exited before logging {message!r}")
