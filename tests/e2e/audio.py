"""Test audio made from the committed sample (no TTS at test time)."""

from __future__ import annotations

import io
import wave
from functools import cache
from pathlib import Path

import av
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


def stereo_wav_bytes(
    left_seconds: tuple[float, float], right_seconds: tuple[float, float]
) -> bytes:
    """A two-channel WAV: the left channel speaks the sample's ``left_seconds`` span, the
    right its ``right_seconds`` span later, each silent while the other speaks."""
    pcm = np.frombuffer(_pcm(), dtype="<i2")
    left = pcm[int(left_seconds[0] * RATE) : int(left_seconds[1] * RATE)]
    right = pcm[int(right_seconds[0] * RATE) : int(right_seconds[1] * RATE)]
    gap = np.zeros(RATE // 2, dtype="<i2")
    length = len(left) + len(gap) + len(right)
    channels = np.zeros((length, 2), dtype="<i2")
    channels[: len(left), 0] = left
    channels[len(left) + len(gap) :, 1] = right
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(channels.tobytes())
    return out.getvalue()


@cache
def silent_flac(seconds: float, rate: int = 1000) -> bytes:
    """A FLAC of ``seconds`` of silence: hours of audio in about a megabyte.

    A low sample rate keeps encoding quick; the decoder still reports the full duration, and
    the server resamples whatever it gets to 16 kHz.
    """
    out = io.BytesIO()
    with av.open(out, mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        block = np.zeros((1, rate * 600), dtype=np.int16)
        written = 0
        while written < seconds * rate:
            piece = block[:, : int(min(block.shape[1], seconds * rate - written))]
            frame = av.AudioFrame.from_ndarray(piece, format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = written
            written += piece.shape[1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()
