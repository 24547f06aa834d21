"""Audio sources for live uploads: a file sent at its real pace (as a microphone would send
it), and an async byte stream whose pieces go out as they come.

A live upload sends a chunk about every second of audio, so the server can commit it and a
worker transcribe it at once. A file's pace is its size over its duration (read locally with
PyAV) in bytes per second; it is cut into equal chunks of about a second, and the chunk that
ends at byte ``e`` leaves ``e / rate`` seconds after the start (when that audio would have
been recorded), divided by ``speed`` for benchmarks. ``stop()`` (Ctrl-C) ends the
upload with what was sent: the next chunk is the empty final one.

Neither source declares a size: a live recording may be stopped before its end.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import av

from clients.errors import ConfigurationError, DataLoss
from clients.sources import CHUNK_SIZE, Chunk, HeldStreamSource

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def audio_duration(path: Path) -> float:
    """Seconds of audio in ``path``: the container's duration, else every frame counted."""
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise ConfigurationError(f"{path} has no audio stream.")
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / av.time_base
            else:
                samples = sum(frame.samples for frame in container.decode(stream))
                seconds = samples / (stream.rate or 1)
    except av.error.FFmpegError as exc:
        raise ConfigurationError(f"Cannot read the duration of {path}: {exc}") from exc
    if not seconds > 0:
        raise ConfigurationError(f"{path} holds no audio to send.")
    return seconds


class PacedFileSource:
    """A file sent at ``speed`` times its real pace, a chunk per ``chunk_seconds`` of audio.

    ``clock`` and ``sleep`` are injectable so that tests can run the pace on a fake clock.
    """

    def __init__(
        self,
        path: Path,
        size: int,
        duration: float,
        *,
        speed: float = 1.0,
        chunk_seconds: float = 1.0,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        if not speed > 0 or not duration > 0 or not chunk_seconds > 0:
            raise ConfigurationError("Speed, duration and chunk length must be positive.")
        self.path = path
        self.file_size = size
        self.duration = duration
        self.size: int | None = None  # not declared: Ctrl-C may stop the upload early
        self.sha256 = ""
        self.bytes_per_second = size / duration
        self.speed = speed
        # The file cut into as many equal chunks as it has whole-or-part chunk_seconds, so
        # that rounding leaves no sliver of a chunk at the end.
        chunks = max(1, math.ceil(duration / chunk_seconds - 1e-6))
        self.chunk_bytes = max(1, min(CHUNK_SIZE, math.ceil(size / chunks)))
        self._clock: Clock = clock or asyncio.get_running_loop().time
        self._sleep: Sleep = sleep or asyncio.sleep
        self._start: float | None = None
        self._stopped = asyncio.Event()
        self._end = size  # where the final chunk goes; moves back when stopped
        self.reached = 0  # bytes handed out so far, on any stream

    @classmethod
    async def open(
        cls, path: Path, *, speed: float = 1.0, chunk_seconds: float = 1.0
    ) -> PacedFileSource:
        try:
            size = await asyncio.to_thread(lambda: path.stat().st_size)
        except OSError as exc:
            raise ConfigurationError(f"Cannot read {path}: {exc}") from exc
        duration = await asyncio.to_thread(audio_duration, path)
        return cls(path, size, duration, speed=speed, chunk_seconds=chunk_seconds)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @property
    def seconds_sent(self) -> float:
        """Seconds of audio handed to the upload so far."""
        return self.reached / self.bytes_per_second

    def due(self, end: int) -> float:
        """Seconds after the start at which the chunk ending at byte ``end`` is sent."""
        return end / (self.bytes_per_second * self.speed)

    def stop(self) -> None:
        """End the upload with the bytes sent so far: the next chunk is the final one."""
        if not self._stopped.is_set():
            self._end = self.reached
            self._stopped.set()

    async def _wait_until(self, when: float) -> None:
        """Sleep until ``when`` on the clock, or until stop()."""
        delay = when - self._clock()
        if delay <= 0 or self._stopped.is_set():
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
        stopper = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)

    async def chunks_from(self, offset: int) -> AsyncIterator[Chunk]:
        if self._start is None:
            self._start = self._clock()
        while offset < self._end:
            # Chunk boundaries stay on multiples of chunk_bytes after a resume, so the pace
            # is the same whatever the committed offset.
            end = min((offset // self.chunk_bytes + 1) * self.chunk_bytes, self._end)
            if end > self.reached:
                await self._wait_until(self._start + self.due(end))
                if self._stopped.is_set():
                    end = min(end, self._end)
                    if end <= offset:
                        break
            # Counted before the read, so that a stop() meanwhile still sends this chunk.
            self.reached = max(self.reached, end)
            data = await asyncio.to_thread(_read_at, self.path, offset, end - offset)
            if len(data) != end - offset:
                raise DataLoss(f"{self.path} shrank while it was being sent.")
            yield Chunk(offset=offset, data=data, last=end >= self._end)
            if end >= self._end:
                return
            offset = end
        yield Chunk(offset=offset, data=b"", last=True)

    def committed(self, offset: int) -> None:
        # A file replays by seeking; nothing is held.
        return None


def _read_at(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(size)


class LiveStreamSource(HeldStreamSource):
    """An async byte stream (a microphone's reads): each piece is sent as it comes, cut to at
    most CHUNK_SIZE, and held until the server commits it; the stream's end sends the empty
    final chunk. Unlike StreamSource it gathers nothing, so no audio waits for more."""

    async def chunks_from(self, offset: int) -> AsyncIterator[Chunk]:
        if not self._held.holds(offset):
            raise DataLoss(f"The live upload cannot resume at byte {offset}; it was not held.")
        for start, data in self._held.replay(offset):
            yield Chunk(start, data, last=False)
        position = self._held.end
        while piece := await self._pull():
            for i in range(0, len(piece), CHUNK_SIZE):
                part = piece[i : i + CHUNK_SIZE]
                self._held.add(part)
                yield Chunk(position, part, last=False)
                position += len(part)
        yield Chunk(position, b"", last=True)
