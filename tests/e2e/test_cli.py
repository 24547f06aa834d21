"""The `consulta` CLI as a person uses it, against a real server: transcribe --follow, note,
jobs list, health."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.e2e.audio import SAMPLE
from tests.e2e.deployment import Deployment
from tests.e2e.test_jobs import DIALOGUE

CLI = Path(sys.executable).parent / "consulta"


async def consulta(
    deployment: Deployment, *args: str, stdin: bytes | None = None
) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "CONSULTA_JWT_SECRET": deployment.settings.jwt_secret,
        "CONSULTA_USER": "alice",
        "CONSULTA_TENANT": "clinic-a",
    }
    env.pop("CONSULTA_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        str(CLI),
        "--server",
        f"127.0.0.1:{deployment.server.port}",
        "--http",
        f"127.0.0.1:{deployment.server.http_port}",
        "--tenant",
        "clinic-a",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
async def test_transcribe_follow_prints_transcript_and_note(deployment: Deployment) -> None:
    code, out, err = await consulta(deployment, "transcribe", str(SAMPLE), "--follow")
    assert code == 0, err
    assert "middle finger" in out.lower()
    for heading in ("SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"):
        assert heading in out.upper()
    code, out, err = await consulta(deployment, "--json", "jobs", "list")
    assert code == 0, err
    jobs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(jobs) == 1 and jobs[0]["state"] == "JOB_STATE_COMPLETED"
    code, out, _ = await consulta(deployment, "health")
    assert code == 0 and "SERVING" in out


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
async def test_note_reads_stdin_and_prints_only_the_note(deployment: Deployment) -> None:
    code, out, err = await consulta(
        deployment, "note", "--template", "history_and_physical", stdin=DIALOGUE.encode()
    )
    assert code == 0, err
    assert out.startswith("CHIEF COMPLAINT")
    assert "lisinopril 10 mg" in out
    assert "150/90" in out
