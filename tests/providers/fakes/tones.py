"""Test audio made of tone bursts, and the fakes' "speech recognition" of it.

A burst at 440 Hz is heard as the word "tone440", so a fake provider can answer with text and
times that depend on the audio it actually received: stitched timestamps can then be checked
against where each burst really is in the recording.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

RATE = 16000


@dataclass(frozen=True, slots=True)
class Burst:
    """A tone of ``freq`` Hz from ``start`` for ``seconds``, on ``channel``."""

    start: float
    seconds: float
    freq: int
    channel: int = 0


def tone_samples(bursts: list[Burst], total: float, channels: int = 1) -> npt.NDArray[np.float32]:
    """``bursts`` over near-silence (a little noise, like a room): 16 kHz float32, one row
    per channel."""
    rng = np.random.default_rng(7)
    n = int(total * RATE)
    pcm = rng.normal(0, 0.001, size=(channels, n)).astype(np.float32)
    for b in bursts:
        lo, hi = int(b.start * RATE), int((b.start + b.seconds) * RATE)
        t = np.arange(hi - lo) / RATE
        pcm[b.channel, lo:hi] += 0.5 * np.sin(2 * np.pi * b.freq * t).astype(np.float32)
    return pcm


def write_tones(path: Path, bursts: list[Burst], total: float, channels: int = 1) -> Path:
    """A 16-bit WAV holding ``bursts`` over near-silence (a little noise, like a room)."""
    pcm = tone_samples(bursts, total, channels)
    ints = (np.clip(pcm, -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(ints.T.tobytes())
    return path


@dataclass(frozen=True, slots=True)
class Heard:
    """A burst found in audio: times within that audio and its frequency (10 Hz steps)."""

    start: float
    end: float
    freq: int

    @property
    def word(self) -> str:
        return f"tone{self.freq}"


def _decode(data: bytes) -> npt.NDArray[np.float32]:
    with av.open(io.BytesIO(data), mode="r") as container:
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=RATE)
        pieces = [
            out.to_ndarray()[0]
            for frame in container.decode(audio=0)
            for out in resampler.resample(frame)
        ]
        pieces += [out.to_ndarray()[0] for out in resampler.resample(None)]
    return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)


def hear(data: bytes) -> tuple[float, list[Heard]]:
    """The duration of encoded audio ``data`` and the bursts in it."""
    pcm = _decode(data)
    frame = int(0.01 * RATE)
    usable = len(pcm) - len(pcm) % frame
    loud = np.sqrt(np.square(pcm[:usable].reshape(-1, frame)).mean(axis=1)) > 0.05
    heard: list[Heard] = []
    i = 0
    while i < len(loud):
        if not loud[i]:
            i += 1
            continue
        j = i
        while j < len(loud) and loud[j]:
            j += 1
        part = pcm[i * frame : j * frame]
        spectrum = np.abs(np.fft.rfft(part))
        freq = float(np.fft.rfftfreq(len(part), 1 / RATE)[int(np.argmax(spectrum))])
        heard.append(Heard(i * 0.01, j * 0.01, int(round(freq / 10) * 10)))
        i = j
    return len(pcm) / RATE, heard
