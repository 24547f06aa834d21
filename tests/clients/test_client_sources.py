"""Byte sources: chunking, replay from a committed offset, and what cannot be replayed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clients.errors import ConfigurationError, DataLoss
from clients.sources import CHUNK_SIZE, Chunk, FileSource, HeldBytes, StreamSource


async def _collect(chunks: AsyncIterator[Chunk]) -> list[Chunk]:
    return [chunk async for chunk in chunks]


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _joined(chunks: list[Chunk], start: int) -> bytes:
    offset = start
    for chunk in chunks:
        assert chunk.offset == offset
        assert len(chunk.data) <= CHUNK_SIZE
        offset += len(chunk.data)
    assert [c.last for c in chunks] == [False] * (len(chunks) - 1) + [True]
    return b"".join(c.data for c in chunks)


async def test_a_file_declares_size_and_sha256_and_replays_from_any_offset(tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK_SIZE + 10)
    path = tmp_path / "a.wav"
    path.write_bytes(data)
    source = await FileSource.open(path)

    assert source.size == len(data)
    assert source.sha256 == hashlib.sha256(data).hexdigest()
    assert _joined(await _collect(source.chunks_from(0)), 0) == data
    assert (
        _joined(await _collect(source.chunks_from(CHUNK_SIZE + 5)), CHUNK_SIZE + 5)
        == data[CHUNK_SIZE + 5 :]
    )
    # Everything committed but the finish lost: one empty final chunk.
    assert await _collect(source.chunks_from(len(data))) == [Chunk(len(data), b"", True)]


async def test_an_empty_file_is_one_empty_final_chunk(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    source = await FileSource.open(path)
    assert await _collect(source.chunks_from(0)) == [Chunk(0, b"", True)]


async def test_a_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read"):
        await FileSource.open(tmp_path / "nope.wav")


async def test_a_stream_rechunks_and_replays_what_is_not_committed() -> None:
    data = os.urandom(3 * CHUNK_SIZE + 7)
    source = StreamSource(_pieces(data, 300_000))

    first = source.chunks_from(0)
    sent = [await anext(first), await anext(first)]
    del first  # the stream broke after two chunks; its generator is abandoned
    source.committed(CHUNK_SIZE + 100)

    rest = await _collect(source.chunks_from(CHUNK_SIZE + 100))
    assert sent[0].data + sent[1].data[:100] + _joined(rest, CHUNK_SIZE + 100) == data


async def test_a_stream_cannot_replay_below_what_was_committed() -> None:
    source = StreamSource(_pieces(os.urandom(CHUNK_SIZE * 2), CHUNK_SIZE))
    await _collect(source.chunks_from(0))
    source.committed(CHUNK_SIZE)
    with pytest.raises(DataLoss, match="cannot be replayed"):
        await _collect(source.chunks_from(10))


async def test_an_empty_stream_is_one_empty_final_chunk() -> None:
    source = StreamSource(_pieces(b"", 1))
    assert await _collect(source.chunks_from(0)) == [Chunk(0, b"", True)]


def test_held_bytes_replay_from_any_held_offset_and_let_go_of_what_is_committed() -> None:
    held = HeldBytes()
    data = os.urandom(2 * CHUNK_SIZE + 10)
    for i in range(0, len(data), CHUNK_SIZE):
        held.add(data[i : i + CHUNK_SIZE])
    assert (held.base, held.end) == (0, len(data))
    assert b"".join(part for _, part in held.replay(5)) == data[5:]
    assert [start for start, _ in held.replay(5)] == [5, 5 + CHUNK_SIZE, 5 + 2 * CHUNK_SIZE]
    held.committed(CHUNK_SIZE + 3)
    assert (held.base, held.end) == (CHUNK_SIZE + 3, len(data))
    assert not held.holds(CHUNK_SIZE + 2) and held.holds(len(data))
    assert not held.holds(len(data) + 1)
    assert b"".join(part for _, part in held.replay(CHUNK_SIZE + 3)) == data[CHUNK_SIZE + 3 :]
    held.committed(1)  # an older commit changes nothing
    assert held.base == CHUNK_SIZE + 3
    held.committed(len(data) + 100)  # past the end: everything is let go, no further
    assert (held.base, held.end) == (len(data), len(data))
    assert list(held.replay(len(data))) == []
