"""The server unit tests' shared fixture: the interceptor chain around a scripted servicer
(tests/server/interceptor_harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.server.interceptor_harness import Harness, start, stop


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    running, server = await start(tmp_path)
    try:
        yield running
    finally:
        await stop(running, server)
