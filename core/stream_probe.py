"""A batch upload decoded while it arrives, so that finishing it needs no second full decode.

The server feeds each received chunk to a :class:`ReceivingProbe`. A thread decodes the
growing stream through a pipe (FFmpeg sees one ordinary, unseekable file) and counts samples
and levels exactly as :func:`core.audio.probe` does. At the end :meth:`ReceivingProbe.info`
describes the finished file from those figures and its header (opened, not decoded).

A streamed decode only ever saves work; it never decides a refusal. Any trouble (a container
that needs seeking such as MP4/M4A, bad, empty or too long audio, a finished file whose header
disagrees) gives None, and the caller decodes the finished file the usual way, whose statuses
and reasons are the ones callers already know.

Only WAV is decoded so (STREAMED_FORMATS); others are decoded at the end as before.

Memory stays bounded: fed bytes wait for the decoder thread up to ``max_buffered``, and the
feeder waits beyond that (the upload then goes at the decoder's pace).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from pathlib import Path

import av

from core.audio import AudioInfo, Decoded, declared_duration, decode_all, describe, open_audio
from core.byte_pipe import BytePipe
from core.errors import AudioError, OutOfRange

log = logging.getLogger(__name__)

#: Fed bytes the decoder may lag behind by; above FFmpeg's 5 MB probe of an unseekable input.
MAX_BUFFERED = 16 << 20

#: Containers whose streamed decode gives the figures of the finished file's. Not MP3: read
#: as a stream, FFmpeg cannot skip the encoder delay the file's LAME header announces, so the
#: duration comes out some 25 ms long; compressed formats are decoded at the end as before.
STREAMED_FORMATS = frozenset({"wav"})

#: What a streamed decode may fail with; the full decode at the end then speaks for the file.
_GIVE_UP = (AudioError, OutOfRange, av.error.FFmpegError, OSError, ValueError)


def _settle(done: asyncio.Future[Decoded | None], result: Decoded | None) -> None:
    if not done.done():
        done.set_result(result)


class ReceivingProbe:
    """Decodes one upload's bytes as they are fed; :meth:`info` at the end, or :meth:`aclose`."""

    def __init__(self, *, max_seconds: float, max_buffered: int = MAX_BUFFERED) -> None:
        self.max_seconds = max_seconds
        self.max_buffered = max_buffered
        self._pipe = BytePipe()
        self._decoding: asyncio.Future[Decoded | None] | None = None

    async def feed(self, data: bytes) -> None:
        """Hand the next bytes of the upload to the decoder; waits while it lags too far."""
        if self._decoding is None:
            self._decoding = self._start()
        if self._decoding.done():
            return  # it gave up (or ended early): the bytes are not needed
        self._pipe.feed(data)
        if self._pipe.buffered > self.max_buffered:
            await asyncio.to_thread(self._pipe.wait_below, self.max_buffered)

    def _start(self) -> asyncio.Future[Decoded | None]:
        """The decode in a thread of its own: it waits on the pipe for the whole upload, so in
        the loop's shared executor a few uploads would hold every thread and the part writes
        they wait for could never run."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Decoded | None] = loop.create_future()

        def run() -> None:
            result: Decoded | None = None
            try:
                result = self._decode()
            except Exception:  # any surprise only means the finished file is probed
                log.exception("streamed decode failed; the finished file is decoded")
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle, done, result)

        threading.Thread(target=run, name="stream-probe", daemon=True).start()
        return done

    def _decode(self) -> Decoded | None:
        try:
            with open_audio(self._pipe) as container:
                if str(container.format.name).split(",")[0] not in STREAMED_FORMATS:
                    return None
                return decode_all(container, max_seconds=self.max_seconds)
        except _GIVE_UP as exc:
            log.debug("streamed decode gave up (%s); the finished file is decoded", type(exc))
            return None
        finally:
            self._pipe.abort()  # wakes a waiting feeder; later bytes are dropped

    async def info(self, path: Path) -> AudioInfo | None:
        """The finished file's description from the streamed decode; None when the caller
        must decode ``path`` itself."""
        self._pipe.close()
        if self._decoding is None:
            return None
        decoded = await self._decoding
        if decoded is None:
            return None
        return await asyncio.to_thread(self._describe, path, decoded)

    def _describe(self, path: Path, decoded: Decoded) -> AudioInfo | None:
        try:
            with open_audio(str(path)) as container:
                if not container.streams.audio:
                    return None
                stream = container.streams.audio[0]
                name = str(container.format.name).split(",")[0]
                if (name, stream.codec_context.name) != (decoded.format, decoded.codec):
                    return None
                declared = declared_duration(container, stream)
                if declared is not None and declared > self.max_seconds:
                    return None  # probe() refuses it from the header alone
                byte_rate = (stream.codec_context.bit_rate or 0) // 8
            return describe(path, decoded, declared=declared, byte_rate=byte_rate)
        except _GIVE_UP:
            return None

    async def aclose(self) -> None:
        """Stop decoding (an upload that failed or ended without ``finish``)."""
        self._pipe.abort()
        if self._decoding is not None:
            with contextlib.suppress(Exception):
                await self._decoding
