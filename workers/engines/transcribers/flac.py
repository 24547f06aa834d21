"""Mono PCM written as 16-bit FLAC: lossless and about half the size of WAV.

Chunks for the providers and the channels of a multi-channel recording are written this way,
so what a provider hears is exactly what was decoded.
"""

from __future__ import annotations

import io

import av
import numpy as np
import numpy.typing as npt

from core.audio import SAMPLE_RATE


class FlacWriter:
    """Writes mono float PCM to a 16-bit FLAC file (or file object) as it arrives."""

    def __init__(self, target: str | io.BytesIO, sample_rate: int = SAMPLE_RATE) -> None:
        self._container = av.open(target, mode="w", format="flac")
        self._stream = self._container.add_stream("flac", rate=sample_rate, layout="mono")
        self._rate = sample_rate
        self._written = 0

    def write(self, pcm: npt.NDArray[np.float32]) -> None:
        samples = (np.clip(pcm, -1.0, 1.0) * 32767).astype(np.int16)
        step = self._rate  # one second a frame keeps memory per frame small
        for i in range(0, len(samples), step):
            piece = np.ascontiguousarray(samples[i : i + step]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(piece, format="s16", layout="mono")
            frame.sample_rate = self._rate
            frame.pts = self._written
            self._written += piece.shape[1]
            for packet in self._stream.encode(frame):
                self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()


def encode_flac(pcm: npt.NDArray[np.float32], sample_rate: int = SAMPLE_RATE) -> bytes:
    """Mono float PCM as a FLAC file in memory (lossless, about half the size of WAV)."""
    out = io.BytesIO()
    writer = FlacWriter(out, sample_rate)
    writer.write(pcm)
    writer.close()
    return out.getvalue()
