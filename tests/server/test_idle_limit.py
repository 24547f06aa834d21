"""The upload stream's idle clock (server/upload_limits.idle_limited): it runs out when the
client sends nothing, but not while the server is writing a part the client may wait on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.errors import Aborted
from server.upload_limits import idle_limited


async def silent_after(first: list[str], forever: asyncio.Event) -> AsyncIterator[str]:
    for message in first:
        yield message
    await forever.wait()  # the client sends nothing more (never set)
    yield "never"


async def test_messages_pass_and_silence_is_aborted_naming_the_upload() -> None:
    received: list[str] = []
    with pytest.raises(Aborted) as aborted:
        async for message in idle_limited(silent_after(["a", "b"], asyncio.Event()), 0.05, ["u1"]):
            received.append(message)
    assert received == ["a", "b"]
    assert aborted.value.reason == "UPLOAD_IDLE" and "Resume upload u1." in str(aborted.value)


async def test_the_clock_does_not_run_out_while_the_server_is_busy() -> None:
    checks = 0

    def busy() -> bool:
        nonlocal checks
        checks += 1
        return checks <= 3  # a write in flight for three periods, then done

    with pytest.raises(Aborted):
        async for _ in idle_limited(silent_after([], asyncio.Event()), 0.05, [], busy=busy):
            pass
    # It asked at the end of each period, and gave up only once the server was idle too.
    assert checks == 4


async def test_the_end_of_the_stream_ends_the_messages() -> None:
    async def two() -> AsyncIterator[str]:
        yield "a"
        yield "b"

    assert [m async for m in idle_limited(two(), 5.0, [])] == ["a", "b"]
