"""The live checks of one server's streams (core/live_check.py), kept across a resume.

A stream that ends without ``finish`` (the client's connection dropped) leaves its check on
the shelf for ``live_idle_seconds``: a stream that resumes the upload on this server from the
offset the check has reached takes it and goes on decoding, so its ``finish`` needs no decode
either. A resume on another server, or later, finds none and ``finish`` decodes the composed
object (server/LIVE.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from core.live_check import LiveCheck

#: How long a resume waits for this server's earlier stream of the upload to end (its client
#: has gone, but the server may learn it a moment after the resume arrives).
WAIT_FOR_EARLIER_SECONDS = 1.0


@dataclass
class _Held:
    check: LiveCheck
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    kept: bool = False
    expiry: asyncio.TimerHandle | None = None


class LiveCheckShelf:
    """Checks by upload id: in use by a running stream, or kept after it ended."""

    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self._held: dict[str, _Held] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def hold(self, upload_id: str, check: LiveCheck) -> None:
        """``check`` is in use by the stream now receiving ``upload_id``."""
        earlier = self._held.pop(upload_id, None)
        if earlier is not None and earlier.check is not check:
            self._discard(earlier)
        self._held[upload_id] = _Held(check)

    def release(self, upload_id: str, check: LiveCheck, *, keep: bool) -> None:
        """Its stream ended: keep the check for a resume (an unfinished, unrefused upload),
        or close it."""
        held = self._held.get(upload_id)
        if held is None or held.check is not check:
            self._close(check)
            return
        held.ended.set()
        if not keep or check.refusal is not None:
            del self._held[upload_id]
            self._close(check)
            return
        held.kept = True
        loop = asyncio.get_running_loop()
        held.expiry = loop.call_later(self.keep_seconds, self._expire, upload_id, check)

    async def take(self, upload_id: str, offset: int) -> LiveCheck | None:
        """For a stream resuming ``upload_id`` at ``offset``: this server's check of it,
        when one decoded exactly the bytes before ``offset``; None otherwise."""
        held = self._held.get(upload_id)
        if held is None:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(held.ended.wait(), WAIT_FOR_EARLIER_SECONDS)
        if self._held.get(upload_id) is not held or not held.kept:
            return None  # still in use by another stream, or gone meanwhile
        del self._held[upload_id]
        if held.expiry is not None:
            held.expiry.cancel()
        if held.check.size != offset:
            self._close(held.check)
            return None
        return held.check

    def _expire(self, upload_id: str, check: LiveCheck) -> None:
        held = self._held.get(upload_id)
        if held is not None and held.check is check:
            del self._held[upload_id]
        self._close(check)

    def _discard(self, held: _Held) -> None:
        if held.expiry is not None:
            held.expiry.cancel()
        if held.kept:
            self._close(held.check)

    def _close(self, check: LiveCheck) -> None:
        task = asyncio.ensure_future(check.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
