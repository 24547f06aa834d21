"""Audio decoded while it arrives (core/stream_probe.py) describes the finished file exactly as
the full probe does, gives way to the full probe on anything it cannot vouch for, and reads
uncompressed WAV without the decoder (core/audio.py) to the same figures as the decoder."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import core.audio
from core.audio import AudioInfo, decode_pcm, probe
from core.errors import AudioError
from core.stream_probe import ReceivingProbe
from tests.core.test_audio_warnings import SAMPLE, write_wav


@pytest.fixture(scope="module")
def speech() -> npt.NDArray[np.float32]:
    return decode_pcm(SAMPLE, sample_rate=16000)[: 12 * 16000]


def streamed(path: Path, *, max_seconds: float = 4 * 3600.0) -> AudioInfo | None:
    """The file fed in 64 KiB pieces, then described."""
    return asyncio.run(_streamed(path.read_bytes(), path, max_seconds))


async def _streamed(data: bytes, path: Path, max_seconds: float) -> AudioInfo | None:
    chunk = 64 << 10
    probe_ = ReceivingProbe(max_seconds=max_seconds)
    try:
        for start in range(0, len(data), chunk):
            await probe_.feed(data[start : start + chunk])
        return await probe_.info(path)
    finally:
        await probe_.aclose()


# Width in bytes and gain; 32-bit clipped is left out (write_wav cannot write full scale there).
CASES = [(1, 1.0), (2, 1.0), (4, 1.0), (1, 0.004), (2, 0.004), (4, 0.004), (1, 25.0), (2, 25.0)]


@pytest.mark.parametrize(("width", "gain"), CASES)
def test_a_streamed_wav_is_described_as_the_full_probe_describes_it(
    tmp_path: Path, speech: npt.NDArray[np.float32], width: int, gain: float
) -> None:
    path = write_wav(tmp_path / "a.wav", speech * gain, 16000, width)
    assert (streamed(path)) == probe(path)


def test_an_mp3_is_left_to_the_full_probe() -> None:
    # Streamed, FFmpeg cannot trim the encoder delay: its duration would be 25 ms long.
    assert (streamed(SAMPLE)) is None


def test_a_cut_wav_streamed_keeps_its_truncation_warning(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    whole = write_wav(tmp_path / "whole.wav", speech, 16000).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: 44 + 2 * 16000 * 5])
    info = streamed(cut)
    assert info is not None and info == probe(cut)
    assert [w.reason for w in info.warnings] == ["TRUNCATED_AUDIO"]


def test_anything_it_cannot_vouch_for_is_left_to_the_full_probe(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x13\x37not audio at all" * 5000)
    assert (streamed(junk)) is None
    with pytest.raises(AudioError):
        probe(junk)
    long = write_wav(tmp_path / "long.wav", speech, 16000)
    # Too long for the limit: the full probe refuses it with its own reason.
    assert (streamed(long, max_seconds=5.0)) is None


def test_a_slow_decoder_holds_the_feeder_back_and_still_finishes(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    path = write_wav(tmp_path / "a.wav", speech, 16000)

    data = path.read_bytes()

    async def run() -> AudioInfo | None:
        probe_ = ReceivingProbe(max_seconds=3600.0, max_buffered=8 << 10)
        for start in range(0, len(data), 32 << 10):
            await probe_.feed(data[start : start + (32 << 10)])
            # The feeder never runs more than one feed ahead of the bound.
            assert probe_._pipe.buffered <= (8 << 10) + (32 << 10)
        return await probe_.info(path)

    assert asyncio.run(run()) == probe(path)


def test_an_abandoned_stream_stops_its_decoder(tmp_path: Path) -> None:
    head = SAMPLE.read_bytes()[: 32 << 10]

    async def run() -> bool:
        probe_ = ReceivingProbe(max_seconds=3600.0)
        await probe_.feed(head)
        await probe_.aclose()
        return probe_._decoding is not None and probe_._decoding.done()

    assert asyncio.run(run())


@pytest.mark.parametrize(("width", "gain"), CASES)
def test_wav_read_without_the_decoder_matches_the_decoder(
    tmp_path: Path,
    speech: npt.NDArray[np.float32],
    width: int,
    gain: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_wav(tmp_path / "a.wav", speech * gain, 16000, width)
    fast = probe(path)
    monkeypatch.setattr(core.audio, "_PCM_SAMPLES", {})  # our own table: decode every frame
    assert probe(path) == fast


def test_many_uploads_at_once_leave_the_loops_threads_free(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    head = write_wav(tmp_path / "a.wav", speech, 16000).read_bytes()[: 64 << 10]
    many = 4 * ((os.cpu_count() or 1) + 4)  # more than the default executor's threads

    async def run() -> int:
        probes = [ReceivingProbe(max_seconds=3600.0) for _ in range(many)]
        try:
            for probe_ in probes:
                await probe_.feed(head)  # each decoder now waits for more bytes
            # The part writes and hashing of those uploads run in the shared executor.
            return await asyncio.wait_for(asyncio.to_thread(lambda: 7), timeout=30)
        finally:
            for probe_ in probes:
                await probe_.aclose()

    assert asyncio.run(run()) == 7
