"""The local engine stands alone: importing it loads nothing of the cloud engines (issue 12).

Each import runs in a fresh interpreter, since this test process has long loaded the cloud
engines for other tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cloud_modules_loaded_by(module: str) -> list[str]:
    """Modules of ``workers.engines.cloud`` that importing ``module`` loads."""
    code = (
        f"import sys, {module}\n"
        "print(*sorted(m for m in sys.modules if m.startswith('workers.engines.cloud')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.split()


@pytest.mark.parametrize(
    "module",
    [
        "workers.engines.transcribers.local",
        # The live local engine (utterance cutting, splitting) stays clear of them too.
        "workers.engines.transcribers.live_local",
    ],
)
def test_importing_loads_no_cloud_engine_module(module: str) -> None:
    assert cloud_modules_loaded_by(module) == []


def test_the_check_sees_a_cloud_import() -> None:
    loaded = cloud_modules_loaded_by("workers.engines.transcribers.openai")
    assert "workers.engines.cloud.settings" in loaded
