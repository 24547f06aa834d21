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

A live upload (server/live_uploads.py, through core/live_check.py) uses the probe in live
mode: every streamable container (core/audio_stream.STREAM_FORMATS) is decoded, opened with
the live stream's small probe (core/audio_stream.LIVE_PROBE, so decoding starts at once), and
what the decode finds wrong refuses the upload: :attr:`ReceivingProbe.refusal` is the
AudioError (CORRUPT_AUDIO) or OutOfRange (AUDIO_TOO_LONG) the full decode would have raised,
set as soon as the decoder knows. At the end :meth:`ReceivingProbe.live_info` describes the
stream from its figures alone (no file to open: the first bytes are kept for a WAV's header).
Trouble that is not the audio's (the container would not open from the pipe, a surprise)
still only gives None, and the stored object is decoded the usual way.

Memory stays bounded: fed bytes wait for the decoder thread up to ``max_buffered``, and the
feeder waits beyond that (the upload then goes at the decoder's pace).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import threading
from pathlib import Path

import av

from core import wav_pcm
from core.audio import (
    AudioInfo,
    Decoded,
    declared_duration,
    decode_all,
    describe,
    describe_decoded,
    open_audio,
    wav_missing_bytes,
)
from core.audio_stream import LIVE_PROBE, STREAM_FORMATS
from core.audio_warnings import LevelStats
from core.byte_pipe import BytePipe
from core.errors import AudioError, OutOfRange

log = logging.getLogger(__name__)

#: Fed bytes the decoder may lag behind by; above FFmpeg's 5 MB probe of an unseekable input.
MAX_BUFFERED = 16 << 20

#: Containers whose streamed decode gives the figures of the finished file's. Not MP3: read
#: as a stream, FFmpeg cannot skip the encoder delay the file's LAME header announces, so the
#: duration comes out some 25 ms long; compressed formats are decoded at the end as before.
STREAMED_FORMATS = frozenset({"wav"})

#: Bytes of a live upload's start kept for its header (a WAV's announced data size).
HEAD_BYTES = 64 << 10

#: What a streamed decode may fail with; the full decode at the end then speaks for the file.
_GIVE_UP = (AudioError, OutOfRange, av.error.FFmpegError, OSError, ValueError)


def _settle(done: asyncio.Future[Decoded | None], result: Decoded | None) -> None:
    if not done.done():
        done.set_result(result)


class _Replay:
    """The bytes already read from a pipe, then the pipe: what FFmpeg reads when the header
    was not one core/wav_pcm.py counts."""

    def __init__(self, head: bytes, pipe: BytePipe) -> None:
        self._head = memoryview(head)
        self._pipe = pipe

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._pipe.read(size)
        take = len(self._head) if size < 0 else size
        data, self._head = bytes(self._head[:take]), self._head[take:]
        return data


def _second_data_chunk(path: Path) -> bool:
    with path.open("rb") as f:
        layout, _ = wav_pcm.read_header(f.read)
        return layout is not None and wav_pcm.data_after(f, layout, path.stat().st_size)


class ReceivingProbe:
    """Decodes one upload's bytes as they are fed; :meth:`info` at the end, or :meth:`aclose`."""

    def __init__(
        self, *, max_seconds: float, max_buffered: int = MAX_BUFFERED, live: bool = False
    ) -> None:
        self.max_seconds = max_seconds
        self.max_buffered = max_buffered
        self.live = live
        #: Live mode: why the audio is refused, once the decoder knows (set before
        #: :attr:`decoding` ends).
        self.refusal: AudioError | OutOfRange | None = None
        self._pipe = BytePipe()
        self._decoding: asyncio.Future[Decoded | None] | None = None
        self._head = bytearray()
        self._declared: float | None = None
        self._byte_rate = 0

    @property
    def decoding(self) -> asyncio.Future[Decoded | None] | None:
        """The decode, done when it ended (refused, gave up, or the stream's end decoded);
        None before the first bytes."""
        return self._decoding

    async def feed(self, data: bytes) -> None:
        """Hand the next bytes of the upload to the decoder; waits while it lags too far."""
        if self._decoding is None:
            self._decoding = self._start()
        if self.live and len(self._head) < HEAD_BYTES:
            self._head += data[: HEAD_BYTES - len(self._head)]
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
        opened = False
        try:
            source: BytePipe | _Replay = self._pipe
            if not self.live:
                layout, head = wav_pcm.read_header(self._pipe.read)
                if layout is not None:
                    return self._count_wav(layout, head)
                source = _Replay(head, self._pipe)
            with open_audio(source, LIVE_PROBE if self.live else None) as container:
                opened = True
                name = str(container.format.name).split(",")[0]
                if name not in (STREAM_FORMATS if self.live else STREAMED_FORMATS):
                    return None
                decoded = decode_all(container, max_seconds=self.max_seconds)
                stream = container.streams.audio[0]
                self._declared = declared_duration(container, stream)
                self._byte_rate = (stream.codec_context.bit_rate or 0) // 8
                return decoded
        except (AudioError, OutOfRange) as exc:
            if self.live and opened:  # what the audio itself is: the upload's refusal
                self.refusal = exc
            else:
                log.debug("streamed decode gave up (%s); the finished file is decoded", exc.reason)
            return None
        except _GIVE_UP as exc:
            log.debug("streamed decode gave up (%s); the finished file is decoded", type(exc))
            return None
        finally:
            self._pipe.abort()  # wakes a waiting feeder; later bytes are dropped

    def _count_wav(self, layout: wav_pcm.WavLayout, head: bytes) -> Decoded:
        """A plain PCM WAV, counted without FFmpeg (core/wav_pcm.py)."""
        levels = LevelStats()
        samples = wav_pcm.count(
            self._pipe.read,
            layout,
            levels,
            max_seconds=self.max_seconds,
            first=head[layout.data_start :],
        )
        return Decoded(
            format="wav",
            codec=layout.codec,
            samples=samples,
            rate=layout.rate,
            channels=layout.channels,
            levels=levels,
        )

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
                context = stream.codec_context
                if (name, context.name, context.channels, context.sample_rate) != (
                    decoded.format,
                    decoded.codec,
                    decoded.channels,
                    decoded.rate,
                ):
                    return None
                declared = declared_duration(container, stream)
                if declared is not None and declared > self.max_seconds:
                    return None  # probe() refuses it from the header alone
                byte_rate = (stream.codec_context.bit_rate or 0) // 8
            if name == "wav" and _second_data_chunk(path):
                return None  # FFmpeg reads on into it; the streamed count stopped
            return describe(path, decoded, declared=declared, byte_rate=byte_rate)
        except _GIVE_UP:
            return None

    async def live_info(self, size: int) -> AudioInfo | None:
        """Live mode, once no byte follows: the ``size`` bytes fed, described from the
        streamed decode (the figures :func:`core.audio.probe` gives, but for an MP3's
        encoder delay: see server/LIVE.md). Raises :attr:`refusal` (and EMPTY_AUDIO for a
        stream without samples); None when the stored object must be decoded instead."""
        self._pipe.close()
        if self._decoding is None:
            return None
        decoded = await self._decoding
        if self.refusal is not None:
            raise self.refusal
        if decoded is None:
            return None
        missing = wav_missing_bytes(io.BytesIO(self._head), size) if decoded.format == "wav" else 0
        return describe_decoded(
            decoded, declared=self._declared, byte_rate=self._byte_rate, missing_bytes=missing
        )

    async def aclose(self) -> None:
        """Stop decoding (an upload that failed or ended without ``finish``)."""
        self._pipe.abort()
        if self._decoding is not None:
            with contextlib.suppress(Exception):
                await self._decoding
