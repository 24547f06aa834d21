"""Audio byte sources an upload can read from, and re-read after a broken stream.

A resumed upload sends again every byte from the server's committed offset, so a source must
replay from any offset at or above the last committed one. A file seeks; an async byte stream
keeps the bytes sent but not yet committed (the server commits at least once per storage part,
so this window stays a few MiB and memory does not grow with the audio's size).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from clients.errors import ConfigurationError, DataLoss

# The contract's limit on AudioChunk.data.
CHUNK_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes at ``offset``; ``last`` marks the chunk that carries ``finish``."""

    offset: int
    data: bytes
    last: bool


class HeldBytes:
    """The bytes a stream source sent and the server has not committed yet, kept to send
    again after a broken stream; :meth:`committed` lets go of what the server has stored."""

    def __init__(self) -> None:
        self.base = 0  # offset of the first byte held
        self._held = bytearray()

    @property
    def end(self) -> int:
        """The offset just past the last byte held (the next byte to send)."""
        return self.base + len(self._held)

    def holds(self, offset: int) -> bool:
        """True when sending can resume at ``offset`` from what is held."""
        return self.base <= offset <= self.end

    def replay(self, offset: int) -> Iterator[tuple[int, bytes]]:
        """What is held from ``offset`` on (one of :meth:`holds`), in CHUNK_SIZE pieces."""
        for i in range(offset - self.base, len(self._held), CHUNK_SIZE):
            yield self.base + i, bytes(self._held[i : i + CHUNK_SIZE])

    def add(self, part: bytes) -> None:
        self._held.extend(part)

    def committed(self, offset: int) -> None:
        drop = min(max(offset - self.base, 0), len(self._held))
        if drop:
            del self._held[:drop]
            self.base += drop


class ByteSource(Protocol):
    """Audio an upload reads, with what can be declared before the first byte is sent."""

    size: int | None
    sha256: str

    def chunks_from(self, offset: int) -> AsyncIterator[Chunk]:
        """Chunks of at most CHUNK_SIZE bytes from ``offset`` to the end."""
        ...

    def committed(self, offset: int) -> None:
        """The server stores every byte below ``offset``; they need not be replayed."""
        ...


def _read_at(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(size)


def _hash_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(CHUNK_SIZE):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


class FileSource:
    """A file on disk: size and SHA-256 are computed up front so the server can check them."""

    def __init__(self, path: Path, size: int, sha256: str) -> None:
        self.path = path
        self.size: int | None = size
        self.sha256 = sha256

    @classmethod
    async def open(cls, path: Path) -> FileSource:
        try:
            size, sha256 = await asyncio.to_thread(_hash_file, path)
        except OSError as exc:
            raise ConfigurationError(f"Cannot read {path}: {exc}") from exc
        return cls(path, size, sha256)

    async def chunks_from(self, offset: int) -> AsyncIterator[Chunk]:
        total = self.size or 0
        if offset >= total:
            # Empty audio, or every byte committed before the finish got through.
            yield Chunk(offset=total, data=b"", last=True)
            return
        while offset < total:
            data = await asyncio.to_thread(_read_at, self.path, offset, CHUNK_SIZE)
            if not data:
                raise DataLoss(f"{self.path} shrank while it was being uploaded.")
            yield Chunk(offset=offset, data=data, last=offset + len(data) >= total)
            offset += len(data)

    def committed(self, offset: int) -> None:
        # A file replays by seeking; nothing is held.
        return None


class HeldStreamSource:
    """An async byte stream read piece by piece, with what was sent and not yet committed
    held for a resumed stream (the part StreamSource and the live source share)."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self.size: int | None = None
        self.sha256 = ""
        self._stream = aiter(stream)
        self._exhausted = False
        self._held = HeldBytes()

    async def _pull(self) -> bytes:
        """The stream's next non-empty piece; b"" at its end."""
        while not self._exhausted:
            try:
                piece = await anext(self._stream)
            except StopAsyncIteration:
                self._exhausted = True
                break
            if piece:
                return bytes(piece)
        return b""

    def committed(self, offset: int) -> None:
        self._held.committed(offset)


class StreamSource(HeldStreamSource):
    """An async byte stream of unknown length: nothing is declared up front, and the bytes
    after the committed offset are held until the server commits them."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        super().__init__(stream)
        self._gathered = bytearray()  # pulled from the stream, not yet cut into a chunk

    async def _pieces_from(self, offset: int) -> AsyncIterator[tuple[int, bytes]]:
        if offset < self._held.base:
            raise DataLoss(
                f"The upload would resume at byte {offset}, but the stream has already "
                f"passed byte {self._held.base}; it cannot be replayed."
            )
        if offset > self._held.end:
            raise DataLoss(f"The server committed byte {offset} that was never sent.")
        for held in self._held.replay(offset):
            yield held
        position = self._held.end
        # Small pieces (a microphone's reads) are gathered into full chunks: fewer messages.
        # What is gathered lives on the source, not in this generator, so that bytes pulled
        # by a stream that then broke are still there for the next one.
        while True:
            piece = await self._pull()
            self._gathered.extend(piece)
            while len(self._gathered) >= CHUNK_SIZE or (self._gathered and not piece):
                part = bytes(self._gathered[:CHUNK_SIZE])
                del self._gathered[:CHUNK_SIZE]
                self._held.add(part)
                yield position, part
                position += len(part)
            if not piece:
                return

    async def chunks_from(self, offset: int) -> AsyncIterator[Chunk]:
        # One piece of look-ahead tells which chunk is the last; an empty stream (or one that
        # ends exactly where a resumed upload starts) sends a single empty final chunk.
        pending: tuple[int, bytes] | None = None
        async for piece in self._pieces_from(offset):
            if pending is not None:
                yield Chunk(offset=pending[0], data=pending[1], last=False)
            pending = piece
        if pending is None:
            yield Chunk(offset=self._held.end, data=b"", last=True)
        else:
            yield Chunk(offset=pending[0], data=pending[1], last=True)


async def open_source(source: Path | str | AsyncIterable[bytes]) -> ByteSource:
    """The ByteSource for a path or an async byte stream."""
    if isinstance(source, str | Path):
        return await FileSource.open(Path(source))
    return StreamSource(source)
