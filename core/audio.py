"""Audio checks and decoding with PyAV (FFmpeg's libraries, no ffmpeg binary needed).

The server probes every upload before a job is queued, so that empty, corrupt or non-audio
files are refused with a clear reason instead of failing later in a worker; audio cut short
is kept with a warning (core/audio_warnings.py).

:func:`decode_blocks` is the one decoder: the engines read audio through it (whole with
:func:`decode_pcm`, or as a stream so that hours of audio never sit in memory at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import numpy.typing as npt
from av.container import InputContainer

from core import wav_pcm
from core.audio_limits import check_duration
from core.audio_warnings import LevelStats, sample_rate_warning, truncation_warning
from core.domain import AudioWarning
from core.errors import AudioError

#: The rate audio is decoded to unless a caller asks for another: what Whisper and the
#: transcription providers work at.
SAMPLE_RATE = 16000

#: Containers we accept, by PyAV's format name (the first name of a comma-separated list).
SUPPORTED_FORMATS = {
    "wav": "WAV",
    "mp3": "MP3",
    "mov": "M4A/MP4",
    "ogg": "Ogg (Opus/Vorbis)",
    "matroska": "WebM",
    "flac": "FLAC",
    "aac": "AAC (ADTS)",
}


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the decoder found: container, codec, decoded duration in seconds, layout."""

    format: str
    codec: str
    duration: float
    channels: int
    sample_rate: int
    #: What is wrong with audio that is still transcribed (cut short, poor quality).
    warnings: tuple[AudioWarning, ...] = ()


def _format_name(container: InputContainer) -> str:
    return str(container.format.name).split(",")[0]


@dataclass(slots=True)
class Decoded:
    """What decoding a whole audio stream found, before the checks that need the finished
    file (its size, its header's declared duration): see :func:`describe`."""

    format: str
    codec: str
    samples: int
    rate: int
    channels: int
    levels: LevelStats


def open_audio(source: object, options: dict[str, str] | None = None) -> InputContainer:
    """The container of a file (a path, or a file object such as a pipe), opened; AudioError
    UNSUPPORTED_AUDIO or CORRUPT_AUDIO when FFmpeg cannot open it."""
    try:
        return av.open(source, mode="r", options=options or {})
    except av.error.InvalidDataError as exc:
        raise AudioError(
            "The file is not audio in a format we can read (wav, mp3, m4a, ogg/opus, webm, flac).",
            reason="UNSUPPORTED_AUDIO",
        ) from exc
    except av.error.FFmpegError as exc:
        raise AudioError("The audio could not be opened.", reason="CORRUPT_AUDIO") from exc


def probe(path: Path, *, max_seconds: float | None = None) -> AudioInfo:
    """Decode the whole file once and describe it.

    Raises AudioError with reason UNSUPPORTED_AUDIO (not audio, or a container we do not
    take), EMPTY_AUDIO (no samples) or CORRUPT_AUDIO (undecodable), and OutOfRange with
    reason AUDIO_TOO_LONG when the audio lasts more than ``max_seconds``. Audio that ends
    before its header says, or is of poor quality, is kept with ``warnings``.
    """
    if path.stat().st_size == 0:
        raise AudioError("The audio is empty (0 bytes).", reason="EMPTY_AUDIO")
    with open_audio(str(path)) as container:
        decoded = decode_all(container, max_seconds=max_seconds, path=path)
        stream = container.streams.audio[0]
        declared = declared_duration(container, stream)
        byte_rate = (stream.codec_context.bit_rate or 0) // 8
    return describe(path, decoded, declared=declared, byte_rate=byte_rate)


def decode_all(
    container: InputContainer, *, max_seconds: float | None = None, path: Path | None = None
) -> Decoded:
    """Decode the container's first audio stream to its end, counting samples and levels
    (memory stays one batch of frames deep); the errors of :func:`probe`. A plain PCM WAV
    opened from ``path`` is read without FFmpeg's demuxer (core/wav_pcm.py)."""
    name = _format_name(container)
    if name not in SUPPORTED_FORMATS:
        raise AudioError(
            f"Audio in a {container.format.long_name} container is not supported; send "
            "wav, mp3, m4a, ogg/opus, webm, flac or aac.",
            reason="UNSUPPORTED_AUDIO",
        )
    if not container.streams.audio:
        raise AudioError("The file has no audio stream.", reason="UNSUPPORTED_AUDIO")
    stream = container.streams.audio[0]
    samples = 0
    rate = stream.codec_context.sample_rate or 0
    levels = LevelStats()
    if max_seconds is not None:
        check_duration(declared_duration(container, stream) or 0.0, max_seconds)
    pcm = _PCM_SAMPLES.get(stream.codec_context.name)
    channels = stream.codec_context.channels or 0
    try:
        if pcm is not None and rate and channels:
            read = _read_plain_wav(path, stream, levels, max_seconds) if path else None
            samples = (
                read
                if read is not None
                else _count_pcm(container, stream, pcm, channels, levels, max_seconds)
            )
        for frame in () if pcm is not None and rate and channels else container.decode(stream):
            samples += frame.samples
            rate = frame.sample_rate or rate
            levels.add(frame)
            if max_seconds is not None and rate:
                # Headers can lie: stop decoding as soon as the samples say too long.
                check_duration(samples / rate, max_seconds)
    except av.error.FFmpegError as exc:
        raise AudioError(
            "The audio is corrupt: decoding failed partway through.", reason="CORRUPT_AUDIO"
        ) from exc
    return Decoded(
        format=name,
        codec=stream.codec_context.name,
        samples=samples,
        rate=rate,
        channels=stream.codec_context.channels or 0,
        levels=levels,
    )


#: PCM codecs whose packets are their samples, by the dtype FFmpeg's decoder gives them in.
_PCM_SAMPLES: dict[str, np.dtype[np.generic]] = {
    "pcm_u8": np.dtype("u1"),
    "pcm_s16le": np.dtype("<i2"),
    "pcm_s32le": np.dtype("<i4"),
    "pcm_f32le": np.dtype("<f4"),
    "pcm_f64le": np.dtype("<f8"),
}


#: Packets joined before their samples are looked at (a WAV packet holds 1-2 k samples).
_PCM_BATCH = 32


def _count_pcm(
    container: InputContainer,
    stream: av.audio.stream.AudioStream,
    dtype: np.dtype[np.generic],
    channels: int,
    levels: LevelStats,
    max_seconds: float | None,
) -> int:
    """Samples (per channel) of uncompressed PCM, read packet by packet without the decoder:
    its packets already are the samples, so decoding each (a Python frame per 1-2 k samples)
    only cost time. Matches FFmpeg's pcm decoder: a packet holds whole sample blocks, a short
    one left at the end is dropped, and a packet smaller than one block is corrupt."""
    block = dtype.itemsize * channels
    rate = stream.codec_context.sample_rate
    samples = 0
    pieces: list[memoryview] = []
    sizes: list[int] = []
    for packet in container.demux(stream):
        size = packet.size
        if size == 0:
            continue  # the demuxer's end-of-stream marker
        if size < block:
            raise AudioError(
                "The audio is corrupt: decoding failed partway through.", reason="CORRUPT_AUDIO"
            )
        whole = size - size % block
        pieces.append(memoryview(packet)[:whole])
        sizes.append(whole // dtype.itemsize)
        samples += whole // block
        if len(pieces) == _PCM_BATCH:
            levels.add_frames(np.frombuffer(b"".join(pieces), dtype=dtype), sizes)
            pieces, sizes = [], []
            if max_seconds is not None:
                check_duration(samples / rate, max_seconds)
    if pieces:
        levels.add_frames(np.frombuffer(b"".join(pieces), dtype=dtype), sizes)
    if max_seconds is not None:
        check_duration(samples / rate, max_seconds)
    return samples


def _read_plain_wav(
    path: Path, stream: av.audio.stream.AudioStream, levels: LevelStats, max_seconds: float | None
) -> int | None:
    """Samples of the file at ``path`` read by core/wav_pcm.py, when its header is one it
    reads and says what FFmpeg saw (codec, channels, rate); None otherwise."""
    with path.open("rb") as f:
        layout, head = wav_pcm.read_header(f.read)
        context = stream.codec_context
        if layout is None or (layout.codec, layout.channels, layout.rate) != (
            context.name,
            context.channels,
            context.sample_rate,
        ):
            return None
        if wav_pcm.data_after(f, layout, path.stat().st_size):
            return None
        f.seek(len(head))
        first = head[layout.data_start :]
        return wav_pcm.count(f.read, layout, levels, max_seconds=max_seconds, first=first)


def describe(path: Path, decoded: Decoded, *, declared: float | None, byte_rate: int) -> AudioInfo:
    """The :class:`AudioInfo` of the file at ``path`` whose audio decoded as ``decoded``
    (``declared``: its header's duration; ``byte_rate``: bytes per second of its encoded
    audio); AudioError EMPTY_AUDIO when nothing decoded."""
    missing = 0
    if decoded.format == "wav":
        with path.open("rb") as f:
            missing = wav_missing_bytes(f, path.stat().st_size)
    return describe_decoded(decoded, declared=declared, byte_rate=byte_rate, missing_bytes=missing)


def describe_decoded(
    decoded: Decoded, *, declared: float | None, byte_rate: int, missing_bytes: int
) -> AudioInfo:
    """:func:`describe` from figures alone (``missing_bytes``: what a WAV's data chunk
    announces but the file lacks), for audio decoded as it arrived (core/stream_probe.py)."""
    if decoded.samples == 0 or decoded.rate == 0:
        raise AudioError("The audio holds no sound samples.", reason="EMPTY_AUDIO")
    duration = decoded.samples / decoded.rate
    missing = missing_bytes
    truncated = truncation_warning(
        duration, declared=declared, missing_bytes=missing, byte_rate=byte_rate
    )
    found = [truncated, sample_rate_warning(decoded.rate), *decoded.levels.warnings()]
    return AudioInfo(
        format=decoded.format,
        codec=decoded.codec,
        duration=duration,
        channels=decoded.channels,
        sample_rate=decoded.rate,
        warnings=tuple(w for w in found if w is not None),
    )


def wav_missing_bytes(f: BinaryIO, size: int) -> int:
    """Bytes a WAV file's data chunk declares but the file (``size`` bytes, read from ``f``,
    or at least its header) does not hold (0 when whole, or when the header is not there).

    FFmpeg computes a WAV's duration from the file size, so a cut-off WAV decodes "fine";
    the RIFF header still says how long it was meant to be.
    """
    head = f.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        return 0
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        chunk = f.read(8)
        if len(chunk) < 8:
            return 0  # past the header bytes held: unknown
        chunk_id, chunk_size = chunk[:4], int.from_bytes(chunk[4:8], "little")
        if chunk_id == b"data":
            # 0 and 0xFFFFFFFF mark streamed WAVs whose writer never knew the size.
            if chunk_size in (0, 0xFFFFFFFF) or head[:4] == b"RF64":
                return 0
            return max(0, pos + 8 + chunk_size - size)
        pos += 8 + chunk_size + (chunk_size & 1)
    return 0


def declared_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def decode_blocks(
    source: Path | BinaryIO, *, sample_rate: int = SAMPLE_RATE, mono: bool = True
) -> Iterator[npt.NDArray[np.float32]]:
    """Decode to float32 PCM at ``sample_rate``, block by block as the decoder yields it:
    shape (n,) when ``mono``, else (channels, n).

    Memory stays one block deep whatever the recording's length. ``source`` is a file, or a
    file object for audio already in memory.
    """
    with av.open(str(source) if isinstance(source, Path) else source, mode="r") as container:
        stream = container.streams.audio[0]
        layout = "mono" if mono else _layout(stream)
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                block = out.to_ndarray().astype(np.float32, copy=False)
                yield block[0] if mono else block
        for out in resampler.resample(None):
            block = out.to_ndarray().astype(np.float32, copy=False)
            yield block[0] if mono else block


def decode_pcm(
    path: Path, *, sample_rate: int = SAMPLE_RATE, mono: bool = True
) -> npt.NDArray[np.float32]:
    """The whole recording as :func:`decode_blocks` gives it, in one array."""
    blocks = list(decode_blocks(path, sample_rate=sample_rate, mono=mono))
    if blocks:
        return np.concatenate(blocks, axis=-1)
    if mono:
        return np.zeros(0, dtype=np.float32)
    with av.open(str(path), mode="r") as container:
        width = container.streams.audio[0].codec_context.channels or 1
    return np.zeros((width, 0), dtype=np.float32)


def _layout(stream: av.audio.stream.AudioStream) -> str:
    """The channel layout a multi-channel decode keeps (two channels are always stereo)."""
    channels = stream.codec_context.channels or 1
    return "stereo" if channels == 2 else str(stream.layout.name)
