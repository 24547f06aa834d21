"""server/live_checks.py: a dropped live stream's check is kept for a resume on the same
server from the offset it reached, and only then."""

from __future__ import annotations

import asyncio

from core.live_check import LiveCheck
from server.live_checks import LiveCheckShelf


async def fed(size: int) -> LiveCheck:
    check = LiveCheck(max_seconds=3600.0)
    await check.feed(b"RIFF" + b"\x00" * (size - 4))
    return check


async def test_a_dropped_streams_check_is_taken_by_a_resume_from_its_offset() -> None:
    shelf = LiveCheckShelf(keep_seconds=30)
    check = await fed(1000)
    shelf.hold("u1", check)
    shelf.release("u1", check, keep=True)
    assert await shelf.take("u1", 1000) is check
    assert await shelf.take("u1", 1000) is None  # taken once
    await check.aclose()


async def test_a_resume_from_another_offset_gets_none() -> None:
    shelf = LiveCheckShelf(keep_seconds=30)
    check = await fed(1000)
    shelf.hold("u1", check)
    shelf.release("u1", check, keep=True)
    assert await shelf.take("u1", 2000) is None


async def test_a_finished_or_expired_check_is_not_kept() -> None:
    shelf = LiveCheckShelf(keep_seconds=0.05)
    finished, dropped = await fed(10), await fed(10)
    shelf.hold("done", finished)
    shelf.release("done", finished, keep=False)
    shelf.hold("idle", dropped)
    shelf.release("idle", dropped, keep=True)
    await asyncio.sleep(0.2)
    assert await shelf.take("done", 10) is None
    assert await shelf.take("idle", 10) is None


async def test_a_check_still_in_use_is_not_taken() -> None:
    shelf = LiveCheckShelf(keep_seconds=30)
    check = await fed(10)
    shelf.hold("u1", check)  # its stream still runs (the wait for it ends after ~1 s)
    assert await shelf.take("u1", 10) is None
    shelf.release("u1", check, keep=True)
    assert await shelf.take("u1", 10) is check
    await check.aclose()
