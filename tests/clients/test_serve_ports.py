"""`consulta serve` on a port another process holds: one line naming the port and the setting
to change, exit status 1, and nothing started (no database created or migrated)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "consulta"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on, as another server would."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


@pytest.mark.parametrize("setting", ["CONSULTA_GRPC_LISTEN", "CONSULTA_HTTP_LISTEN"])
def test_a_busy_port_is_one_line_naming_the_setting(
    tmp_path: Path, taken_port: int, setting: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTA_")}
    env.update(
        {
            "CONSULTA_DATA_DIR": str(tmp_path / "var"),
            "CONSULTA_GRPC_LISTEN": "127.0.0.1:0",
            "CONSULTA_HTTP_LISTEN": "127.0.0.1:0",
            setting: f"127.0.0.1:{taken_port}",
        }
    )

    done = subprocess.run(
        [str(CLI), "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"Port {taken_port}" in lines[0] and setting in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var" / "consulta.db").exists()  # checked before migrating
