"""Issue 13 acceptance for the CLI: `consulta transcribe FILE --realtime --follow` against
`consulta serve` prints final transcript lines while the audio is still being sent, then the
note."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.e2e.audio import SAMPLE
from tests.e2e.deployment import Deployment
from tests.e2e.test_cli import CLI


async def lines_in_order(proc: asyncio.subprocess.Process, seen: list[tuple[str, str]]) -> None:
    """Every line of stdout ("out") and stderr ("err") in the order they arrive."""

    async def pump(name: str, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        while line := await stream.readline():
            seen.append((name, line.decode().rstrip("\n")))

    await asyncio.gather(pump("out", proc.stdout), pump("err", proc.stderr))


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
async def test_transcribe_realtime_follow_prints_final_lines_before_the_upload_ends(
    deployment: Deployment,
) -> None:
    env = {
        **os.environ,
        "CONSULTA_JWT_SECRET": deployment.settings.jwt_secret,
        "CONSULTA_USER": "alice",
        "CONSULTA_TENANT": "clinic-a",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CONSULTA_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        str(CLI),
        "--server",
        f"127.0.0.1:{deployment.server.port}",
        "--tenant",
        "clinic-a",
        "transcribe",
        str(SAMPLE),
        "--realtime",
        "--follow",
        "--speed",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    seen: list[tuple[str, str]] = []
    try:
        await asyncio.wait_for(lines_in_order(proc, seen), 300)
        assert await asyncio.wait_for(proc.wait(), 30) == 0, seen
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    (upload_end,) = [i for i, (name, line) in enumerate(seen) if name == "err" and "sent " in line]
    finals = [i for i, (name, line) in enumerate(seen) if name == "out" and line.startswith("[")]
    assert finals and finals[0] < upload_end, seen  # a final line while the audio was sent
    out = "\n".join(line for name, line in seen if name == "out")
    assert "middle finger" in out.lower()
    for heading in ("SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"):
        assert heading in out.upper()
    assert out.upper().index("SUBJECTIVE") > out.index(seen[finals[-1]][1])  # then the note
