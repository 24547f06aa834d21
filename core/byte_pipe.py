"""A file object FFmpeg reads from while bytes are still arriving (core/audio_stream.py's
live decoder and core/stream_probe.py's upload probe): one thread feeds, the decoder's
thread reads, and neither copies the fed bytes more than once."""

from __future__ import annotations

import threading
from collections import deque


class BytePipe:
    """``read`` waits for fed bytes; after ``close`` it drains what is left and then returns
    b"" (end of file). After ``abort`` reads end at once and later feeds are dropped.

    ``buffered`` is how many fed bytes are not read yet; a feeder may block in
    :meth:`wait_below` until the reader brings it under a limit.
    """

    def __init__(self) -> None:
        self._chunks: deque[memoryview] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._aborted = False
        self.buffered = 0
        #: The level a feeder waits for (``wait_below``), or -1: reads wake it only then,
        #: not on each of FFmpeg's small reads.
        self._waiting_for = -1

    def feed(self, data: bytes) -> None:
        """Append ``data``; ValueError after ``close`` (a bug), nothing after ``abort``."""
        with self._cond:
            if self._aborted:
                return
            if self._closed:
                raise ValueError("feed after close")
            self._chunks.append(memoryview(data))
            self.buffered += len(data)
            self._cond.notify_all()

    def close(self) -> None:
        """No more bytes: reads drain what is fed, then return b""."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abort(self) -> None:
        """Drop what is fed; reads (and a waiting feeder) end at once."""
        with self._cond:
            self._aborted = self._closed = True
            self._chunks.clear()
            self.buffered = 0
            self._cond.notify_all()

    def wait_below(self, limit: int) -> None:
        """Block until the reader has taken all but ``limit`` fed bytes, or the pipe was
        aborted."""
        with self._cond:
            self._waiting_for = limit
            while self.buffered > limit and not self._aborted:
                self._cond.wait()
            self._waiting_for = -1

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is fed when negative), waiting only while nothing
        is fed and the pipe is open; b"" at the end."""
        with self._cond:
            while not self._chunks and not self._closed:
                self._cond.wait()
            pieces: list[memoryview] = []
            taken = 0
            while self._chunks and (size < 0 or taken < size):
                head = self._chunks[0]
                take = len(head) if size < 0 else min(len(head), size - taken)
                pieces.append(head[:take])
                taken += take
                if take == len(head):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = head[take:]
            self.buffered -= taken
            if self._waiting_for >= 0 and self.buffered <= self._waiting_for:
                self._cond.notify_all()
            return b"".join(pieces)  # the one copy of the fed bytes
