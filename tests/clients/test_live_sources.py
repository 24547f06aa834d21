"""Live sources: a file's pace (bytes per second = size / duration) on a fake clock, stop()
ending the upload with what was sent, resuming at the same pace, and a microphone-like
stream whose pieces go out as they come."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clients.errors import ConfigurationError
from clients.live_sources import LiveStreamSource, PacedFileSource, audio_duration
from clients.sources import CHUNK_SIZE, Chunk


class FakeClock:
    """Time moves only when the source sleeps; ``block`` makes sleeps wait forever."""

    def __init__(self, *, block: bool = False) -> None:
        self.now = 100.0
        self.block = block
        self.sleeping = asyncio.Event()

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.block:
            self.sleeping.set()
            await asyncio.Event().wait()
        self.now += seconds


def write_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(2 * int(seconds * rate)))
    return path


def paced(
    tmp_path: Path, size: int, duration: float, clock: FakeClock, speed: float = 1.0
) -> tuple[PacedFileSource, bytes]:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "visit.raw"
    path.write_bytes(data)
    source = PacedFileSource(path, size, duration, speed=speed, clock=clock.time, sleep=clock.sleep)
    return source, data


async def timed(
    source: PacedFileSource, clock: FakeClock, offset: int = 0, limit: int | None = None
) -> list[tuple[float, Chunk]]:
    """(seconds since the clock's start, chunk) for each chunk, up to ``limit`` chunks."""
    out: list[tuple[float, Chunk]] = []
    async for chunk in source.chunks_from(offset):
        out.append((round(clock.now - 100.0, 6), chunk))
        if limit is not None and len(out) >= limit:
            break
    return out


async def test_a_file_goes_out_a_second_of_audio_at_a_time_at_its_real_pace(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    source, data = paced(tmp_path, 100_000, 10.0, clock)  # 10,000 bytes a second
    sent = await timed(source, clock)

    assert source.chunk_bytes == 10_000
    assert [c.offset for _, c in sent] == list(range(0, 100_000, 10_000))
    assert {len(c.data) for _, c in sent} == {10_000}
    assert b"".join(c.data for _, c in sent) == data
    # Each chunk leaves when its audio would have been recorded: its end over the rate.
    assert [t for t, _ in sent] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert [c.last for _, c in sent] == [False] * 9 + [True]


async def test_a_part_second_is_spread_over_equal_chunks_sent_at_the_byte_rate(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    source, data = paced(tmp_path, 105_000, 10.5, clock)  # 11 chunks of at most a second
    sent = await timed(source, clock)

    assert len(sent) == 11
    assert source.chunk_bytes == 9_546  # 105,000 / 11, rounded up
    assert [len(c.data) for _, c in sent] == [9_546] * 10 + [9_540]
    assert b"".join(c.data for _, c in sent) == data
    ends = [c.offset + len(c.data) for _, c in sent]
    assert [t for t, _ in sent] == [pytest.approx(end / 10_000) for end in ends]
    assert sent[-1][0] == pytest.approx(10.5)


async def test_speed_sends_the_same_chunks_faster(tmp_path: Path) -> None:
    clock = FakeClock()
    source, _ = paced(tmp_path, 40_000, 4.0, clock, speed=4.0)
    sent = await timed(source, clock)

    assert [len(c.data) for _, c in sent] == [10_000] * 4
    assert [t for t, _ in sent] == [0.25, 0.5, 0.75, 1.0]


async def test_a_resumed_stream_replays_what_was_sent_at_once_then_keeps_the_pace(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    source, data = paced(tmp_path, 80_000, 8.0, clock)
    first = await timed(source, clock, limit=5)  # up to byte 50,000 at 5 s
    # The server had committed 20,000 bytes when the stream broke.
    again = await timed(source, clock, offset=20_000)

    assert first[-1][0] == 5.0
    assert [c.offset for _, c in again] == [20_000, 30_000, 40_000, 50_000, 60_000, 70_000]
    # Already recorded: sent without waiting; then one chunk a second again.
    assert [t for t, _ in again] == [5.0, 5.0, 5.0, 6.0, 7.0, 8.0]
    assert b"".join(c.data for _, c in again) == data[20_000:]


async def test_stop_finishes_with_what_was_sent_without_waiting_for_the_next_second(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    source, data = paced(tmp_path, 100_000, 10.0, clock)
    chunks = source.chunks_from(0)
    sent = [await anext(chunks) for _ in range(3)]
    clock.block = True  # the next wait would never end by itself
    waiting = asyncio.ensure_future(anext(chunks))
    await asyncio.wait_for(clock.sleeping.wait(), 5)
    source.stop()
    final = await asyncio.wait_for(waiting, 5)

    assert b"".join(c.data for c in sent) == data[:30_000]
    assert final == Chunk(offset=30_000, data=b"", last=True)
    assert source.seconds_sent == 3.0
    # A stream resumed after the stop replays up to the stop; its last chunk finishes.
    replay = [c async for c in source.chunks_from(10_000)]
    assert [(c.offset, len(c.data), c.last) for c in replay] == [
        (10_000, 10_000, False),
        (20_000, 10_000, True),
    ]


async def test_a_chunk_is_at_most_the_contract_limit(tmp_path: Path) -> None:
    clock = FakeClock()
    # 3 MiB a second of audio (absurd, but a chunk must still fit in a message).
    source, _ = paced(tmp_path, 6 * CHUNK_SIZE, 2.0, clock)
    sent = await timed(source, clock)

    assert source.chunk_bytes == CHUNK_SIZE
    assert {len(c.data) for _, c in sent} == {CHUNK_SIZE}


def test_the_duration_is_read_from_the_file(tmp_path: Path) -> None:
    assert audio_duration(write_wav(tmp_path / "a.wav", 2.5)) == pytest.approx(2.5)
    (tmp_path / "noise.bin").write_bytes(b"not audio at all" * 100)
    with pytest.raises(ConfigurationError):
        audio_duration(tmp_path / "noise.bin")


async def test_a_stream_source_sends_each_piece_as_it_comes_and_replays_uncommitted() -> None:
    arrived = asyncio.Queue[bytes | None]()

    async def microphone() -> AsyncIterator[bytes]:
        while (piece := await arrived.get()) is not None:
            yield piece

    source = LiveStreamSource(microphone())
    chunks = source.chunks_from(0)
    await arrived.put(b"a" * 3000)
    # Sent at once, not gathered into a bigger chunk.
    assert await asyncio.wait_for(anext(chunks), 5) == Chunk(0, b"a" * 3000, last=False)
    await arrived.put(b"b" * 2000)
    assert await asyncio.wait_for(anext(chunks), 5) == Chunk(3000, b"b" * 2000, last=False)
    source.committed(3000)
    await arrived.put(None)
    assert await asyncio.wait_for(anext(chunks), 5) == Chunk(5000, b"", last=True)
    replay = [c async for c in source.chunks_from(3000)]
    assert replay == [Chunk(3000, b"b" * 2000, last=False), Chunk(5000, b"", last=True)]
