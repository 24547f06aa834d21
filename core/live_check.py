"""A live upload checked as it arrives, so that ``finish`` does no full decode.

The server that receives a live stream from offset 0 feeds every committed chunk to a
:class:`LiveCheck`: a :class:`~core.stream_probe.ReceivingProbe` in live mode decodes the
growing stream in a thread (counts and levels only, no PCM kept) and a running SHA-256 hashes
the bytes. What the decoder finds wrong (CORRUPT_AUDIO, AUDIO_TOO_LONG) is :attr:`refusal`
as soon as it knows; at ``finish`` :meth:`figures` gives the size, hash, duration, channels
and warnings that core/live_finish.py stores instead of decoding the composed object.

A stream resumed from a later offset has no check (the decoder must see the first byte): its
``finish``, and the sweeper's, decode the composed object as before (server/LIVE.md).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from core.audio import AudioInfo, Decoded
from core.errors import AudioError, OutOfRange
from core.stream_probe import ReceivingProbe

#: Chunks at least this long are hashed in a thread (hashlib frees the GIL) rather than on
#: the event loop; a live chunk (a second or two of audio) is far smaller.
_HASH_IN_THREAD = 1 << 20


@dataclass(frozen=True, slots=True)
class StreamedFigures:
    """What the whole stream, decoded as it arrived, turned out to be."""

    size: int
    sha256: str
    info: AudioInfo


class LiveCheck:
    """Decodes and hashes one live stream's bytes, from offset 0, in order."""

    def __init__(self, *, max_seconds: float) -> None:
        self._probe = ReceivingProbe(max_seconds=max_seconds, live=True)
        self._digest = hashlib.sha256()
        self.size = 0

    @property
    def refusal(self) -> AudioError | OutOfRange | None:
        """Why the audio is refused, once the decoder knows; None meanwhile or when fine."""
        return self._probe.refusal

    @property
    def decoding(self) -> asyncio.Future[Decoded | None] | None:
        """Done when the decoder stopped (refused, gave up, or decoded the stream's end);
        None before the first byte."""
        return self._probe.decoding

    async def feed(self, data: bytes) -> None:
        """The next committed bytes (waits while the decoder lags far behind)."""
        if len(data) >= _HASH_IN_THREAD:
            await asyncio.to_thread(self._digest.update, data)
        else:
            self._digest.update(data)
        self.size += len(data)
        await self._probe.feed(data)

    async def figures(self) -> StreamedFigures | None:
        """No byte follows: the stream's figures. Raises the refusal (or EMPTY_AUDIO); None
        when the streamed decode gave up and the composed object must be decoded."""
        info = await self._probe.live_info(self.size)
        if info is None:
            return None
        return StreamedFigures(size=self.size, sha256=self._digest.hexdigest(), info=info)

    async def aclose(self) -> None:
        await self._probe.aclose()
