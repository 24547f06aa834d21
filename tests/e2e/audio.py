"""Test audio made from the committed sample (no TTS at test time)."""

from __future__ import annotations

import io
import wave
from functools import cache
from pathlib import Path

import numpy as np

from core.audio import decode_pcm

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "consultation.mp3"
RATE = 16000


@cache
def _pcm() -> bytes:
    pcm = decode_pcm(SAMPLE, sample_rate=RATE)
    return (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()


def wav_bytes(*, seconds: float | None = None, min_bytes: int = 0) -> bytes:
    """A 16 kHz mono WAV of the sample's first ``seconds`` (all of it when None), repeated
    until the file holds at least ``min_bytes``."""
    pcm = _pcm()
    if seconds is not None:
        pcm = pcm[: int(seconds * RATE) * 2]
    body = pcm
    while len(body) + 44 < min_bytes:
        body += pcm
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(body)
    return out.getvalue()
