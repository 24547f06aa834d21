"""Reading what a client is still sending before refusing its stream.

grpc.aio's client reports "INTERNAL: Internal error from Core" instead of the server's status
when one of its writes fails because the server has already ended the call
(grpc/grpc#36066, fixed upstream by grpc/grpc#43486, not yet released). A client streaming
an upload that we refuse (bad offset, limits, bad audio) would then see INTERNAL, without
our reason. Reading, and dropping, what it still has in flight for a moment before the
status goes out lets its writes complete, so it sees the real status. Bounded in bytes and
time: a client that keeps sending is not read for long.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

#: How long, and how much, a refused stream is read before its status is sent.
DRAIN_SECONDS = 1.0
DRAIN_BYTES = 8 << 20


async def drain_briefly(
    requests: AsyncIterator[Any],
    *,
    seconds: float = DRAIN_SECONDS,
    max_bytes: int = DRAIN_BYTES,
) -> int:
    """Read and drop ``requests`` until the client half-closes, ``seconds`` pass or
    ``max_bytes`` arrive; the number of messages read. Never raises: the caller is about to
    send its own error."""
    read = size = 0

    async def consume() -> None:
        nonlocal read, size
        async for message in requests:
            read += 1
            size += message.ByteSize() if hasattr(message, "ByteSize") else len(message)
            if size >= max_bytes:
                return

    with contextlib.suppress(Exception):
        await asyncio.wait_for(consume(), seconds)
    return read
