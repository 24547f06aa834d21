"""Warnings about audio that can be transcribed but not as well as a person would expect: a
recording cut short, a telephone-quality sample rate, a very low level, clipping.

A clinic wants what was recorded, so these never refuse a file (only audio with nothing
decodable is refused, in core/audio.py); they travel with the job as ``Job.warnings`` so that
a person reading the transcript knows why it may be short or poor.
"""

from __future__ import annotations

import math
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from core.domain import AudioWarning

#: Decoded audio shorter than its header claims by more than this is called truncated.
TRUNCATION_TOLERANCE_SECONDS = 0.5
#: Below this the upper speech band is missing (8 kHz telephone audio keeps up to 4 kHz);
#: 16 kHz is what the speech models are trained on.
MIN_GOOD_SAMPLE_RATE = 16000
#: A recording whose loudest frame stays below this RMS (about -40 dBFS) is very quiet;
#: speech near a microphone is usually -30 to -10 dBFS.
LOW_LEVEL_RMS = 0.01
#: Samples at or beyond this fraction of full scale count as clipped.
CLIP_LEVEL = 0.999
#: Clipping is worth a warning when more than this share of the samples is clipped.
CLIPPED_SHARE = 0.001


#: Samples gathered before the level figures are computed: numpy's per-call cost paid once
#: per batch instead of once per decoded frame (a WAV decodes in frames of 1-2 k samples).
_BATCH_SAMPLES = 1 << 16


class LevelStats:
    """Level and clipping over every decoded frame, gathered while the file is probed so
    that the audio is decoded only once. Memory stays one batch of frames deep
    (``_BATCH_SAMPLES``). The loudest level is measured frame by frame until it reaches
    :data:`LOW_LEVEL_RMS` (it then rules the level warning out and is not followed further);
    clipping is counted in the samples' own type."""

    def __init__(self) -> None:
        self.loudest_rms = 0.0
        self.samples = 0
        self.clipped = 0
        self._pending: list[npt.NDArray[np.generic]] = []
        self._sizes: list[int] = []
        self._pending_samples = 0

    def add(self, frame: av.AudioFrame) -> None:
        data = frame.to_ndarray().reshape(-1)
        self.add_frames(data, [data.size])

    def add_frames(self, values: npt.NDArray[np.generic], sizes: list[int]) -> None:
        """Frames' samples one after another, flat, as the decoder gives them (one dtype per
        file), and each frame's number of values."""
        if values.size == 0:
            return
        self._pending.append(values)
        self._sizes += sizes
        self._pending_samples += values.size
        if self._pending_samples >= _BATCH_SAMPLES:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        raw = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        sizes = self._sizes
        self._pending, self._sizes, self._pending_samples = [], [], 0
        self.samples += raw.size
        lowest, highest = raw.min(), raw.max()
        self.clipped += _clipped(raw, lowest, highest)
        if self.loudest_rms >= LOW_LEVEL_RMS:
            return  # the level warning is ruled out: the frames' levels are not needed
        if _peak(raw.dtype, lowest, highest) <= self.loudest_rms:
            return  # no frame's RMS passes its peak: none is louder than the loudest yet
        values = _normalized(raw)
        counts = np.array([n for n in sizes if n])
        if counts.min() == counts.max():  # PCM: frames of one size, one pass without copies
            frames = values.reshape(len(counts), -1)
            squares = np.einsum("ij,ij->i", frames, frames)
        else:
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
            squares = np.add.reduceat(values * values, starts)
        frame_means = squares / counts
        self.loudest_rms = max(self.loudest_rms, float(np.sqrt(frame_means.max())))

    def warnings(self) -> list[AudioWarning]:
        self._flush()
        found: list[AudioWarning] = []
        if self.samples and self.loudest_rms < LOW_LEVEL_RMS:
            found.append(
                AudioWarning(
                    "LOW_LEVEL",
                    "The recording is very quiet (its loudest moments are about "
                    f"{_dbfs(self.loudest_rms):.0f} dBFS): speech may be lost. Record closer "
                    "to the speakers or raise the input gain.",
                )
            )
        if self.samples and self.clipped / self.samples > CLIPPED_SHARE:
            found.append(
                AudioWarning(
                    "CLIPPED_AUDIO",
                    f"{self.clipped / self.samples:.1%} of the recording is clipped "
                    "(distorted at full scale): some words may be misheard. Lower the input "
                    "gain.",
                )
            )
        return found


def _clipped(data: npt.NDArray[np.generic], lowest: Any, highest: Any) -> int:
    """Samples at or beyond :data:`CLIP_LEVEL` of full scale, compared in the samples' own
    type (no float copy): the integer bounds are those the float comparison gives. ``lowest``
    and ``highest`` are the data's extremes: within the bounds, nothing is counted."""
    values: npt.NDArray[Any] = data
    if data.dtype.kind == "f":
        if lowest > -CLIP_LEVEL and highest < CLIP_LEVEL:
            return 0
        return int(np.count_nonzero(values >= CLIP_LEVEL) + np.count_nonzero(values <= -CLIP_LEVEL))
    bits = 8 * data.dtype.itemsize
    half = 1 << (bits - 1)
    # Samples are normalized as (x - centre) / half with x - centre in [-half, half - 1].
    bound = math.ceil(np.float32(CLIP_LEVEL) * np.float64(half))
    centre, floor = (half, 0) if data.dtype.kind == "u" else (0, -half)
    ceiling = floor + (1 << bits) - 1
    found = 0
    if centre - bound >= floor and lowest <= centre - bound:
        found += int(np.count_nonzero(values <= centre - bound))
    if centre + bound <= ceiling and highest >= centre + bound:
        found += int(np.count_nonzero(values >= centre + bound))
    return found


def _peak(dtype: np.dtype[Any], lowest: Any, highest: Any) -> float:
    """The largest magnitude of samples with these extremes, as a share of full scale (as
    :func:`_normalized` would give it)."""
    if dtype.kind == "f":
        return max(abs(float(lowest)), abs(float(highest)))
    half = float(1 << (8 * dtype.itemsize - 1))
    centre = half if dtype.kind == "u" else 0.0
    return max(abs(float(lowest) - centre), abs(float(highest) - centre)) / half


def _normalized(data: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    """Decoded samples as floats in [-1, 1], whatever the decoder's sample format."""
    values: npt.NDArray[np.float32] = data.astype(np.float32)
    if data.dtype.kind == "f":
        return values
    half = float(1 << (8 * data.dtype.itemsize - 1))
    if data.dtype.kind == "u":  # 8-bit PCM is unsigned around 128
        values -= half
    values *= 1.0 / half
    return values


def _dbfs(rms: float) -> float:
    return 20 * float(np.log10(max(rms, 1e-9)))


def sample_rate_warning(rate: int) -> AudioWarning | None:
    if rate >= MIN_GOOD_SAMPLE_RATE:
        return None
    return AudioWarning(
        "LOW_SAMPLE_RATE",
        f"The audio was recorded at {rate / 1000:g} kHz (telephone quality): it is "
        "transcribed, but words may be misheard. Record at 16 kHz or more when you can.",
        sample_rate_hz=rate,
    )


def truncation_warning(
    kept: float, *, declared: float | None = None, missing_bytes: int = 0, byte_rate: int = 0
) -> AudioWarning | None:
    """A warning when the audio ends early: by what its header declares (``declared``
    seconds) or, for a WAV, by ``missing_bytes`` its data chunk announces but the file lacks
    (seconds from ``byte_rate``, the bytes per second of the encoded audio)."""
    expected = 0.0
    if missing_bytes > 0:
        expected = kept + (missing_bytes / byte_rate if byte_rate > 0 else 0.0)
    elif declared is not None and declared - kept > TRUNCATION_TOLERANCE_SECONDS:
        expected = declared
    if expected <= 0.0:
        return None
    shown = f" of the {expected:.1f} s its header announces" if byte_rate or declared else ""
    return AudioWarning(
        "TRUNCATED_AUDIO",
        f"The recording ends early: {kept:.1f} s{shown} could be decoded, and only that is "
        "transcribed.",
        seconds_kept=round(kept, 3),
        seconds_expected=round(expected, 3),
    )
