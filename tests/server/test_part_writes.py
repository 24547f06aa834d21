"""A resume waits for the part a broken stream is still writing on this server
(server/part_writes.py), and is told to retry when that write does not end in time."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import Aborted
from server.part_writes import PartWrites


async def test_a_resume_waits_for_the_write_then_finds_none() -> None:
    writes = PartWrites()
    gate = asyncio.Event()
    write = asyncio.ensure_future(gate.wait())
    writes.track("u1", write)  # type: ignore[arg-type]
    waiting = asyncio.ensure_future(writes.settled("u1"))
    await asyncio.sleep(0)
    assert not waiting.done()

    gate.set()

    assert await waiting is True
    assert await writes.settled("u1") is False  # forgotten once done
    assert await writes.settled("another") is False


async def test_a_write_that_does_not_end_in_time_makes_the_resume_retry() -> None:
    writes = PartWrites()
    stuck = asyncio.ensure_future(asyncio.Event().wait())
    writes.track("u1", stuck)  # type: ignore[arg-type]
    try:
        with pytest.raises(Aborted) as caught:
            await writes.settled("u1", within=0.05)
        assert caught.value.reason == "UPLOAD_PART_IN_FLIGHT"
        assert not stuck.done()  # the write goes on; only the resume gave up
    finally:
        stuck.cancel()
