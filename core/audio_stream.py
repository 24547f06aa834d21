"""Incremental decoding: audio bytes in as they arrive, 16 kHz mono float32 out as it decodes.

A live upload's audio grows while it is decoded: the server checks it as it arrives and a
worker transcribes it. :class:`StreamDecoder` runs PyAV in a thread on a file-like pipe whose
``read`` waits until more bytes are fed or the input is closed, so FFmpeg sees one ordinary
(unseekable) stream. Containers that stream: Ogg (Opus/Vorbis), WebM, MP3, WAV, FLAC and ADTS
AAC; MP4/M4A keeps its index at the end and cannot be decoded before it is whole.

Memory stays bounded: fed bytes are held only until the decoder reads them, and the decoder
thread waits while ``max_blocks`` decoded blocks are not taken yet.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator

import av
import numpy as np
import numpy.typing as npt

from core.byte_pipe import BytePipe
from core.errors import AudioError

#: Containers that decode from a growing stream, by PyAV's format name.
STREAM_FORMATS = {
    "wav": "WAV",
    "mp3": "MP3",
    "ogg": "Ogg (Opus/Vorbis)",
    "matroska": "WebM",
    "flac": "FLAC",
    "aac": "AAC (ADTS)",
}

_END = object()

# FFmpeg reads up to 5 MB or 5 s of audio to learn a stream's layout before its first
# frame: minutes of a live upload. A few KiB and a tenth of a second tell it as much for
# audio (WAV still reads 64 KiB first: FFmpeg looks for S/PDIF data inside it). Not
# ``fflags=nobuffer``: it drops the packets read while probing, the recording's start.
# (core/stream_probe.py opens a live upload being received with the same options.)
LIVE_PROBE = {
    "probesize": "4096",
    "format_probesize": "2048",
    "analyzeduration": "100000",
}
#: Bytes PyAV asks of the pipe at once; small, so FFmpeg never waits on a full buffer.
_READ_SIZE = 4096


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


class StreamDecoder:
    """Decodes a byte stream fed piece by piece; use ``async with`` or call :meth:`aclose`.

    ``feed`` and ``close`` come from the event loop's side; :meth:`blocks` yields float32 mono
    PCM at ``sample_rate`` in order and ends when the input is closed and decoded. Bad input
    raises :class:`~core.errors.AudioError` from :meth:`blocks`: UNSUPPORTED_AUDIO (not audio,
    or a container that cannot stream) or CORRUPT_AUDIO (decoding failed).
    """

    def __init__(self, *, sample_rate: int = 16_000, max_blocks: int = 64) -> None:
        self.sample_rate = sample_rate
        self._pipe = BytePipe()
        self._max_blocks = max_blocks
        self._queue: asyncio.Queue[object] | None = None
        self._room = threading.Semaphore(max_blocks)
        self._thread: asyncio.Future[None] | None = None
        self._stopping = threading.Event()
        self.bytes_fed = 0
        self.samples = 0
        """Samples decoded so far (at ``sample_rate``)."""
        self.format = ""
        """The container's name once it is recognised ("ogg", "mp3", ...)."""

    @property
    def buffered_bytes(self) -> int:
        """Bytes fed that the decoder has not read yet (a feeder waits while there are many)."""
        return self._pipe.buffered

    @property
    def duration(self) -> float:
        """Seconds of audio decoded so far."""
        return self.samples / self.sample_rate

    def feed(self, data: bytes) -> None:
        """Append bytes of the stream (in order)."""
        if data:
            self.bytes_fed += len(data)
            self._pipe.feed(data)

    def close(self) -> None:
        """No more bytes: the decoder finishes what it holds and :meth:`blocks` ends."""
        self._pipe.close()

    def _start(self) -> asyncio.Queue[object]:
        if self._queue is None:
            loop = asyncio.get_running_loop()
            self._queue = asyncio.Queue()
            queue = self._queue

            def put(item: object) -> None:
                loop.call_soon_threadsafe(queue.put_nowait, item)

            done: asyncio.Future[None] = loop.create_future()
            self._thread = done

            def run() -> None:
                try:
                    self._run(put)
                finally:
                    loop.call_soon_threadsafe(_settle, done)

            # A daemon thread: a decoder its owner forgot to close never holds the process.
            threading.Thread(target=run, name="stream-decoder", daemon=True).start()
        return self._queue

    def _run(self, put: Callable[[object], None]) -> None:
        try:
            for block in self._decode():
                while not self._room.acquire(timeout=0.2):
                    if self._stopping.is_set():
                        return
                if self._stopping.is_set():
                    return
                put(block)
            put(_END)
        except BaseException as exc:  # handed to the event loop, which raises it
            put(exc)

    def _decode(self) -> Iterator[npt.NDArray[np.float32]]:
        try:
            container = av.open(
                self._pipe, mode="r", container_options=LIVE_PROBE, buffer_size=_READ_SIZE
            )
        except av.error.InvalidDataError as exc:
            raise AudioError(
                "The stream is not audio in a format that can be decoded as it arrives "
                "(ogg/opus, webm, mp3, wav, flac, aac).",
                reason="UNSUPPORTED_AUDIO",
            ) from exc
        except av.error.FFmpegError as exc:
            raise AudioError(
                "The audio stream could not be opened.", reason="CORRUPT_AUDIO"
            ) from exc
        with container:
            name = str(container.format.name).split(",")[0]
            self.format = name
            if name not in STREAM_FORMATS:
                raise AudioError(
                    f"Audio in a {container.format.long_name} container cannot be decoded while "
                    "it arrives; send ogg/opus, webm, mp3, wav, flac or aac.",
                    reason="UNSUPPORTED_AUDIO",
                )
            if not container.streams.audio:
                raise AudioError("The stream has no audio.", reason="UNSUPPORTED_AUDIO")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=self.sample_rate)
            try:
                for frame in container.decode(stream):
                    for out in resampler.resample(frame):
                        yield self._count(out)
                for out in resampler.resample(None):
                    yield self._count(out)
            except av.error.FFmpegError as exc:
                raise AudioError(
                    "The audio is corrupt: decoding failed partway through.",
                    reason="CORRUPT_AUDIO",
                ) from exc

    def _count(self, frame: av.AudioFrame) -> npt.NDArray[np.float32]:
        block: npt.NDArray[np.float32] = frame.to_ndarray().astype(np.float32, copy=False)[0]
        self.samples += len(block)
        return block

    async def blocks(self) -> AsyncIterator[npt.NDArray[np.float32]]:
        """Decoded PCM blocks in order, as they come; ends after :meth:`close` and the last."""
        queue = self._start()
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, AudioError):
                raise item
            if isinstance(item, BaseException):
                raise AudioError(
                    f"The audio stream could not be decoded ({type(item).__name__}).",
                    reason="CORRUPT_AUDIO",
                ) from item
            self._room.release()
            assert isinstance(item, np.ndarray)
            yield item

    async def aclose(self) -> None:
        """Stop decoding and wait for the thread; safe to call more than once."""
        self._stopping.set()
        self._pipe.abort()
        if self._thread is not None:
            await asyncio.shield(self._thread)

    async def __aenter__(self) -> StreamDecoder:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
