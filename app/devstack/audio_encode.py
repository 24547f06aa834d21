"""Speech encoded the way recorders and browsers send it (Ogg/Opus, WebM, MP3, ...), with
PyAV: for the tests of code that decodes audio as it arrives and for bench/live_finish.py's
live uploads, which share it here because bench/ may not import tests/."""

from __future__ import annotations

import io

import av
import numpy as np
import numpy.typing as npt

#: The sample rate of the PCM :func:`encode` takes.
RATE = 16000

#: (container, codec, sample rate of the encoded audio) per format a live upload may use.
FORMATS = {
    "ogg": ("ogg", "libopus", 48000),
    "webm": ("webm", "libopus", 48000),
    "mp3": ("mp3", "libmp3lame", 16000),
    "wav": ("wav", "pcm_s16le", 16000),
    "flac": ("flac", "flac", 16000),
    "aac": ("adts", "aac", 16000),
}


def encode(pcm: npt.NDArray[np.float32], kind: str) -> bytes:
    """``pcm`` (16 kHz mono float32) encoded as ``kind`` (a key of FORMATS)."""
    fmt, codec, rate = FORMATS[kind]
    out = io.BytesIO()
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.audio.stream.AudioStream)
        resampler = av.AudioResampler(format=stream.codec_context.format, layout="mono", rate=rate)
        source = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm, dtype=np.float32).reshape(1, -1), format="fltp", layout="mono"
        )
        source.sample_rate = RATE
        fifo = av.AudioFifo()
        for frame in [*resampler.resample(source), *resampler.resample(None)]:
            frame.pts = None
            fifo.write(frame)
        size = stream.codec_context.frame_size or 1024
        while fifo.samples:
            piece = fifo.read(min(size, fifo.samples), partial=True)
            for packet in stream.encode(piece):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()
