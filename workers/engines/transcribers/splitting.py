"""Long audio cut at pauses: windows for the local model, requests for the providers.

An energy-based splitter: each cut lands in the quietest stretch near the length limit, so
speech is rarely cut mid-word. The recording is decoded once, as a stream
(:func:`core.audio.decode_blocks`), and memory holds one window whatever its length.

The local engine takes :func:`pcm_windows`; cloud engines take :func:`split_audio`, which
sends audio under the providers' limits as uploaded and longer audio as FLAC chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from core.audio import SAMPLE_RATE, decode_blocks
from workers.engines.base import AudioFile
from workers.engines.transcribers.flac import FlacWriter

_FRAME_SECONDS = 0.03
# Upper bound of 16 kHz mono 16-bit audio per second: FLAC is smaller, never larger.
_BYTES_PER_SECOND = SAMPLE_RATE * 2
# Formats the providers accept as uploaded, by file suffix.
_PASSTHROUGH_SUFFIXES = {".flac", ".mp3", ".mp4", ".m4a", ".mpeg", ".mpga", ".ogg", ".wav", ".webm"}


@dataclass(frozen=True, slots=True)
class Chunk:
    """One request's worth of audio: its bytes and where it sits in the recording."""

    index: int
    start: float
    end: float
    data: bytes
    filename: str


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """A chunk not yet encoded: encoding waits for a free request slot, so at most
    ``concurrency`` chunks' bytes are in memory at once."""

    index: int
    start: float
    end: float
    filename: str
    encode: Callable[[], bytes]

    def load(self) -> Chunk:
        return Chunk(self.index, self.start, self.end, self.encode(), self.filename)


def plan_cuts(
    pcm: npt.NDArray[np.float32],
    sample_rate: int,
    max_seconds: float,
    min_silence_seconds: float = 0.3,
) -> list[tuple[int, int]]:
    """Sample ranges of at most ``max_seconds``, cut at the quietest stretch near each limit.

    The quietest stretch is the window of ``min_silence_seconds`` with the lowest mean energy
    in the second half of the allowed span, so a chunk is never shorter than half the limit
    (which bounds the number of requests) and a cut lands in a pause when there is one.
    """
    total = len(pcm)
    limit = max(1, int(max_seconds * sample_rate))
    if total <= limit:
        return [(0, total)]
    frame = max(1, int(_FRAME_SECONDS * sample_rate))
    usable = total - total % frame
    energy = np.square(pcm[:usable].reshape(-1, frame)).mean(axis=1)
    window = max(1, round(min_silence_seconds / _FRAME_SECONDS))
    smooth = np.convolve(energy, np.ones(window) / window, mode="same")
    cuts: list[tuple[int, int]] = []
    start = 0
    while total - start > limit:
        lo = (start + limit // 2) // frame
        hi = max(lo + 1, (start + limit) // frame)
        quietest = lo + int(np.argmin(smooth[lo:hi]))
        cut = quietest * frame + frame // 2
        cut = min(max(cut, start + 1), start + limit)
        cuts.append((start, cut))
        start = cut
    cuts.append((start, total))
    return cuts


def pcm_windows(
    path: Path, max_seconds: float, min_silence_seconds: float
) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    """The recording at 16 kHz mono as (first sample, PCM) windows of at most
    ``max_seconds``, each cut at a pause (see :func:`plan_cuts`), in one decoding pass.

    Memory holds one window and one decoder block, whatever the recording's length. Yields
    at least one window (empty for audio with no samples).
    """
    limit = int(max_seconds * SAMPLE_RATE)
    start = 0
    sent = False
    pieces: list[npt.NDArray[np.float32]] = []
    held = 0
    for block in decode_blocks(path):
        pieces.append(block)
        held += len(block)
        while held > limit:
            buffer = np.concatenate(pieces)
            cut = plan_cuts(buffer, SAMPLE_RATE, max_seconds, min_silence_seconds)[0][1]
            yield start, buffer[:cut]
            sent = True
            start += cut
            pieces, held = [buffer[cut:]], len(buffer) - cut
    if held or not sent:
        yield start, np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def split_audio(
    audio: AudioFile,
    folder: Path,
    *,
    max_bytes: int,
    max_seconds: float,
    min_silence_seconds: float,
) -> list[ChunkPlan]:
    """The requests ``audio`` needs: the file as is when it fits, else FLAC chunks in
    ``folder``.

    One decoding pass; memory holds at most one chunk of PCM (about 50 MB at the 25 MB
    limit), whatever the recording's length. Chunk files are read back one request slot at
    a time.
    """
    size = audio.path.stat().st_size
    suffix = audio.path.suffix.lower()
    if size <= max_bytes and audio.duration <= max_seconds and suffix in _PASSTHROUGH_SUFFIXES:
        return [ChunkPlan(0, 0.0, audio.duration, audio.path.name, audio.path.read_bytes)]
    longest = min(max_seconds, max_bytes / _BYTES_PER_SECOND)
    plans: list[ChunkPlan] = []
    for start, pcm in pcm_windows(audio.path, longest, min_silence_seconds):
        index = len(plans)
        path = folder / f"chunk{index:04d}.flac"
        writer = FlacWriter(str(path))
        writer.write(pcm)
        writer.close()
        end = start + len(pcm)
        plans.append(
            ChunkPlan(index, start / SAMPLE_RATE, end / SAMPLE_RATE, path.name, path.read_bytes)
        )
    return plans
