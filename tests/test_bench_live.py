"""bench/live.py's own arithmetic (the run itself needs the merged live server): which chunk's
send time a final segment's lag is measured from, and that its help works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.live import TimedSource
from clients.live_sources import PacedFileSource


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_a_segment_is_timed_from_the_chunk_that_carried_its_last_audio(
    tmp_path: Path,
) -> None:
    path = tmp_path / "visit.raw"
    path.write_bytes(bytes(50_000))
    clock = Clock()
    paced = PacedFileSource(path, 50_000, 5.0, clock=clock.time, sleep=clock.sleep)
    stamps = iter(range(100, 200))  # the send time of each chunk, in order
    source = TimedSource(paced, clock=lambda: float(next(stamps)))
    chunks = [chunk async for chunk in source.chunks_from(0)]

    assert len(chunks) == 5  # a second of audio each, sent at 100, 101, ... 104
    assert source.sent == [(n * 10_000, 99.0 + n) for n in range(1, 6)]
    assert source.finish_sent_at == 104.0
    assert source.sent_at(0.5) == 100.0  # inside the first second
    assert source.sent_at(1.0) == 100.0  # its last byte is the first chunk's last
    assert source.sent_at(2.2) == 102.0
    assert source.sent_at(9.0) == 104.0  # past the end: the last chunk


def test_bench_live_help_works_without_a_server() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.live", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "live_streams_per_worker" in result.stdout and "--speed" in result.stdout
