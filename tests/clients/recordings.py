"""A made-up WAV recording for the live upload tests: 16-bit mono at 16 kHz, so a second of
audio is 32,000 bytes and the live pace is easy to reason about."""

from __future__ import annotations

import wave
from pathlib import Path

RATE = 16000


def write_wav(path: Path, seconds: float) -> Path:
    """A WAV file at ``path`` holding ``seconds`` of a repeating byte ramp."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(range(256)) * (int(seconds * RATE) * 2 // 256))
    return path
