"""Who speaks when, from the sound alone: two voices told apart with no downloaded model.

For a mono recording on the local engine. Silero VAD (shipped inside the faster-whisper
wheel) gives the speech regions; each 10 ms frame of speech gets 12 mel-cepstral
coefficients and a pitch estimate (autocorrelation), all in numpy. One-second windows of
frames are summarised (means and spreads) and split in two by k-means; a diagonal Gaussian
per side, fitted on its windows' frames, then scores any stretch of time frame by frame, so
a short answer between two long questions is still heard as the other voice.

k-means always finds two sides, even in one voice (its vowels against its consonants), so
the split is trusted only when whole turns take sides: :meth:`Voices.distinct` averages the
frame scores over each ASR segment and asks that the segments fall into two groups far apart
for their spread. One voice's segments all lean about the same way (each holds a mix of
sounds); two voices' segments lean hard one way or the other. Otherwise there is one voice as
far as the sound can tell, and the caller goes by the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from core.audio import SAMPLE_RATE
from workers.engines.transcribers.splitting import pcm_windows

Array = npt.NDArray[np.float64]

_FRAME = 400  # 25 ms
_HOP = 160  # 10 ms: 100 frames a second
_FFT = 512
_MELS = 26
_CEPSTRA = 12
_LOW_PITCH, _HIGH_PITCH = 60.0, 400.0
_VOICED = 0.45  # normalised autocorrelation peak above which a frame is voiced
_WINDOW = 100  # frames in a window (1 s)
_BLOCK = 3000 * _HOP  # samples whose frames are computed at once (30 s)
_STEP = 50
#: Smallest share of the windows the smaller side must hold to be a speaker.
MIN_SHARE = 0.05
#: Smallest Fisher ratio (squared distance of the two groups' means over their summed
#: variances) between segments' mean frame scores called two voices. On a 12-turn espeak-ng
#: dialogue two voices (en-gb, en-us+f3) give about 100 and one voice about 1.5; 8 leaves a
#: wide margin both ways.
MIN_TURN_SEPARATION = 8.0
#: Mean frame score (log-likelihood ratio) each side of a change inside a segment must lean
#: by. Whole turns of two espeak-ng voices lean 2.5 to 5 a frame; one voice's about 1.
CHANGE_LEANING = 1.5
_MIN_PART = 50  # frames: half a second each side of a change
#: Frames (10 ms each) a segment needs to take part in that test.
_MIN_TURN_FRAMES = 30


@dataclass(frozen=True, slots=True)
class Voices:
    """Frame features of the speech, and, when two voices were found, a Gaussian for each."""

    times: Array  # seconds, one per speech frame
    frames: Array  # (frames, features)
    means: Array | None  # (2, features), or None for one voice
    spreads: Array | None
    separation: float

    @property
    def two(self) -> bool:
        return self.means is not None

    def _scores(self, start: float, end: float) -> Array:
        if self.means is None or self.spreads is None:
            return np.zeros(0)
        lo, hi = np.searchsorted(self.times, [start, end])
        x = self.frames[lo:hi]
        scores: list[Array] = [
            -0.5 * np.sum((x - m) ** 2 / s + np.log(s), axis=1)
            for m, s in zip(self.means, self.spreads, strict=True)
        ]
        return scores[0] - scores[1]

    def leaning(self, start: float, end: float) -> float:
        """Log-likelihood of voice 0 over voice 1 summed over the speech in [start, end];
        0.0 when there is none or only one voice."""
        return float(np.sum(self._scores(start, end)))

    def change(self, start: float, end: float) -> float | None:
        """Where the voice changes inside [start, end], when it plainly does: the cut that
        best splits the frame scores into a side leaning one way and a side leaning the
        other, each at least half a second long and leaning at least ``CHANGE_LEANING`` a
        frame on average. None when there is no such cut (or one voice)."""
        scores = self._scores(start, end)
        if len(scores) < 2 * _MIN_PART:
            return None
        total = np.cumsum(scores)
        gain = np.abs(2 * total[:-1] - total[-1])
        gain[: _MIN_PART - 1] = gain[len(gain) - _MIN_PART + 1 :] = 0.0
        cut = int(gain.argmax()) + 1
        before, after = scores[:cut].mean(), scores[cut:].mean()
        if before * after >= 0 or min(abs(before), abs(after)) < CHANGE_LEANING:
            return None
        lo = int(np.searchsorted(self.times, start))
        return float(self.times[lo + cut])

    def distinct(self, turns: list[tuple[float, float]]) -> bool:
        """Whether the (start, end) spans of speech (ASR segments) show two voices."""
        means = []
        for start, end in turns:
            scores = self._scores(start, end)
            if len(scores) >= _MIN_TURN_FRAMES:
                means.append(float(scores.mean()))
        if len(means) < 4:
            return False
        values = np.array(means)
        side = values > values.mean()
        for _ in range(20):  # one-dimensional k-means
            if side.all() or not side.any():
                return False
            cut = (values[side].mean() + values[~side].mean()) / 2
            moved = values > cut
            if np.array_equal(moved, side):
                break
            side = moved
        a, b = values[side], values[~side]
        if min(len(a), len(b)) < 2:
            return False
        ratio = (a.mean() - b.mean()) ** 2 / (a.var() + b.var() + 1e-9)
        return bool(ratio >= MIN_TURN_SEPARATION)


def _mel_bank() -> Array:
    def mel(hz: Array) -> Array:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges = np.linspace(mel(np.array(80.0)), mel(np.array(7600.0)), _MELS + 2)
    hz = 700.0 * (10 ** (edges / 2595.0) - 1.0)
    bins = np.floor((_FFT + 1) * hz / SAMPLE_RATE).astype(int)
    bank = np.zeros((_MELS, _FFT // 2 + 1))
    for i in range(_MELS):
        a, b, c = bins[i], bins[i + 1], bins[i + 2]
        bank[i, a:b] = (np.arange(a, b) - a) / max(b - a, 1)
        bank[i, b:c] = (c - np.arange(b, c)) / max(c - b, 1)
    return bank


_BANK = _mel_bank()
_DCT = np.cos(
    np.pi / _MELS * (np.arange(_MELS) + 0.5)[None, :] * np.arange(1, _CEPSTRA + 1)[:, None]
)


def frame_features(pcm: npt.NDArray[np.float32]) -> Array:
    """Per 10 ms frame: 12 cepstra, log pitch (0 when unvoiced) and a voiced flag."""
    if len(pcm) < _FRAME:
        return np.zeros((0, _CEPSTRA + 2))
    count = 1 + (len(pcm) - _FRAME) // _HOP
    index = np.arange(_FRAME)[None, :] + _HOP * np.arange(count)[:, None]
    frames = pcm.astype(np.float64)[index] * np.hamming(_FRAME)
    spectrum = np.fft.rfft(frames, _FFT)
    power = np.abs(spectrum) ** 2
    cepstra = np.log(power @ _BANK.T + 1e-10) @ _DCT.T
    # Pitch: the autocorrelation's highest peak in the lags of 60-400 Hz.
    auto = np.fft.irfft(np.abs(np.fft.rfft(frames, 2 * _FFT)) ** 2)[:, :_FRAME]
    lo, hi = int(SAMPLE_RATE / _HIGH_PITCH), int(SAMPLE_RATE / _LOW_PITCH)
    lags = auto[:, lo:hi] / np.maximum(auto[:, :1], 1e-12)
    peak = lags.argmax(axis=1)
    voiced = lags[np.arange(count), peak] > _VOICED
    pitch = np.where(voiced, np.log(SAMPLE_RATE / (peak + lo)), 0.0)
    return np.column_stack([cepstra, pitch, voiced.astype(np.float64)])


def _speech(pcm: npt.NDArray[np.float32]) -> list[tuple[int, int]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(pcm, VadOptions(min_silence_duration_ms=300))
    return [(int(r["start"]), int(r["end"])) for r in found]


def _summary(frames: Array) -> Array:
    """A window's embedding: cepstral means and spreads, median voiced pitch, voiced share."""
    cepstra = frames[:, :_CEPSTRA]
    voiced = frames[:, -1] > 0
    pitch = float(np.median(frames[voiced, _CEPSTRA])) if voiced.any() else np.nan
    return np.concatenate([cepstra.mean(0), cepstra.std(0), [pitch, voiced.mean()]])


def _two_means(points: Array) -> npt.NDArray[np.intp]:
    """k-means with k=2, started from a split of the first principal axis (deterministic)."""
    centred = points - points.mean(0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    projected = centred @ axis
    labels: npt.NDArray[np.intp] = (projected > np.median(projected)).astype(np.intp)
    for _ in range(50):
        if labels.min() == labels.max():
            break
        centres = np.stack([points[labels == k].mean(0) for k in (0, 1)])
        distance = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
        moved: npt.NDArray[np.intp] = distance.argmin(1).astype(np.intp)
        if np.array_equal(moved, labels):
            break
        labels = moved
    return labels


def _fisher(points: Array, labels: npt.NDArray[np.intp]) -> float:
    a, b = points[labels == 0], points[labels == 1]
    if len(a) < 2 or len(b) < 2:
        return 0.0
    line = a.mean(0) - b.mean(0)
    norm = float(np.linalg.norm(line))
    if norm == 0.0:
        return 0.0
    pa, pb = a @ (line / norm), b @ (line / norm)
    return float((pa.mean() - pb.mean()) ** 2 / (pa.var() + pb.var() + 1e-12))


def listen(path: Path) -> Voices:
    """The speech of ``path`` (any format PyAV reads), split into two voices when it holds two.

    Decodes in windows of at most five minutes, so memory holds one window and the frame
    features (about 6 kB a second of speech).
    """
    times: list[Array] = []
    frames: list[Array] = []
    for start, pcm in pcm_windows(path, 300.0, 0.3):
        for lo, hi in _speech(pcm):
            # 30 s at a time: a five-minute region's spectra at once would take a gigabyte.
            for at in range(lo, hi, _BLOCK):
                found = frame_features(pcm[at : min(at + _BLOCK + _FRAME - _HOP, hi)])
                frames.append(found)
                offsets = at + _HOP * np.arange(len(found)) + _FRAME / 2
                times.append((start + offsets) / SAMPLE_RATE)
    if not frames:
        return Voices(np.zeros(0), np.zeros((0, _CEPSTRA + 2)), None, None, 0.0)
    all_times, all_frames = np.concatenate(times), np.concatenate(frames)
    return _split(all_times, all_frames)


def _split(times: Array, frames: Array) -> Voices:
    starts = range(0, max(len(frames) - _STEP, 1), _STEP)
    spans = [(i, min(i + _WINDOW, len(frames))) for i in starts]
    one = Voices(times, frames, None, None, 0.0)
    if len(spans) < 4:
        return one
    points = np.stack([_summary(frames[a:b]) for a, b in spans])
    pitch = points[:, 2 * _CEPSTRA]
    points[np.isnan(pitch), 2 * _CEPSTRA] = np.nanmedian(pitch) if (~np.isnan(pitch)).any() else 0.0
    scale = points.std(0)
    points = (points - points.mean(0)) / np.where(scale > 0, scale, 1.0)
    if not np.isfinite(points).all():
        return one
    try:
        labels = _two_means(points)
    except np.linalg.LinAlgError:  # degenerate features (e.g. a constant tone): no split
        return one
    separation = _fisher(points, labels)
    share = min(labels.mean(), 1 - labels.mean())
    if share < MIN_SHARE:
        return Voices(times, frames, None, None, separation)
    # Frame Gaussians on cepstra and pitch (voiced frames only for pitch would need masks:
    # unvoiced frames carry pitch 0 in both, which cancels in the ratio).
    owner = np.full(len(frames), -1)
    for (a, b), label in zip(spans, labels, strict=True):
        owner[a:b] = np.where(owner[a:b] < 0, label, owner[a:b])
    means = np.stack([frames[owner == k].mean(0) for k in (0, 1)])
    spreads = np.stack([frames[owner == k].var(0) + 1e-3 for k in (0, 1)])
    return Voices(times, frames, means, spreads, separation)
