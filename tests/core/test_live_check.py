"""core/live_check.py: a live upload decoded and hashed as it arrives gives the figures the
full decode of the finished file gives (core/audio.probe), within an MP3's encoder delay, and
refuses what that decode refuses as soon as the decoder knows."""

from __future__ import annotations

import asyncio
import hashlib
import io
import wave
from pathlib import Path

import numpy as np
import pytest

from core.audio import probe
from core.errors import AudioError, OutOfRange
from core.live_check import LiveCheck
from tests.e2e.audio import wav_bytes
from tests.support.audio_formats import encode, sample_speech


async def streamed(data: bytes, piece: int = 3000, max_seconds: float = 3600.0) -> LiveCheck:
    check = LiveCheck(max_seconds=max_seconds)
    for offset in range(0, len(data), piece):
        await check.feed(data[offset : offset + piece])
    return check


@pytest.mark.parametrize("kind", ["wav", "flac", "ogg", "webm", "mp3", "aac"])
async def test_streamed_figures_are_the_full_decodes(kind: str, tmp_path: Path) -> None:
    data = encode(sample_speech(5), kind)
    path = tmp_path / f"audio.{kind}"
    path.write_bytes(data)
    whole = probe(path)
    check = await streamed(data)
    try:
        got = await check.figures()
    finally:
        await check.aclose()
    assert got is not None
    assert (got.size, got.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert (got.info.format, got.info.channels, got.info.sample_rate) == (
        whole.format,
        whole.channels,
        whole.sample_rate,
    )
    assert got.info.warnings == whole.warnings
    if kind == "mp3":  # the encoder delay a stream cannot skip (server/LIVE.md)
        assert got.info.duration == pytest.approx(whole.duration, abs=0.05)
    else:
        assert got.info.duration == whole.duration


def quiet_cut_wav() -> bytes:
    """A very quiet 16 kHz WAV whose header announces 4 s but that holds 2: two warnings."""
    pcm = (np.sin(np.arange(4 * 16000) / 8) * 50).astype("<i2").tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    return out.getvalue()[: 44 + 2 * 16000 * 2]


async def test_warnings_match_the_full_decode(tmp_path: Path) -> None:
    data = quiet_cut_wav()
    path = tmp_path / "audio.wav"
    path.write_bytes(data)
    whole = probe(path)
    check = await streamed(data)
    got = await check.figures()
    await check.aclose()
    assert got is not None
    assert {w.reason for w in whole.warnings} == {"TRUNCATED_AUDIO", "LOW_LEVEL"}
    assert got.info.warnings == whole.warnings


async def test_too_long_audio_is_refused_before_its_end() -> None:
    data = wav_bytes(seconds=8)
    check = LiveCheck(max_seconds=3.0)
    fed = 0
    for offset in range(0, len(data), 16000):  # half a second each
        await check.feed(data[offset : offset + 16000])
        fed = offset + 16000
        await asyncio.sleep(0.05)  # a live client's pause, shortened
        if check.refusal is not None:
            break
    assert isinstance(check.refusal, OutOfRange)
    assert check.refusal.reason == "AUDIO_TOO_LONG"
    assert fed < len(data)
    with pytest.raises(OutOfRange):
        await check.figures()
    await check.aclose()


async def test_a_stream_without_samples_is_empty() -> None:
    check = await streamed(wav_bytes(seconds=1)[:44])
    with pytest.raises(AudioError) as caught:
        await check.figures()
    await check.aclose()
    assert caught.value.reason == "EMPTY_AUDIO"
