"""Utterances cut from live audio with Silero VAD (bundled in faster-whisper).

Samples are appended as they arrive; :meth:`UtteranceCutter.cut` runs the VAD over what is
held and hands back every utterance followed by enough silence to be over. The utterance
still being spoken stays open (:attr:`UtteranceCutter.open`) so that an engine can guess at
it. An utterance longer than ``max_seconds`` is cut at its quietest stretch (the batch
chunker's rule), so nothing waits on a speaker who never pauses.

The defaults were measured on the committed sample at real pace on a loaded 2-core machine:
0.4 s of quiet ends a turn (0.6 s merged turns into 25 s utterances, whose first words then
waited that long to settle), and 15 s caps an utterance (final lag p50 about 1.6 s, p95
about 12 s, the stream keeping up; live WER 0.188 against batch 0.173). A session whose
engine settles words before the utterance ends raises the cap to 30 s
(live_utterances.py).

Memory is bounded: only the open stretch (at most ``max_seconds`` of speech, or a fraction of
a second of silence) is held.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workers.engines.transcribers.splitting import plan_cuts

SAMPLE_RATE = 16_000
#: Samples Silero VAD judges at once: speech "ending" within one of the end is still going on.
_VAD_WINDOW = 512


@dataclass(frozen=True, slots=True)
class Utterance:
    """Speech from sample ``start`` (counted from the start of the recording) on."""

    start: int
    pcm: npt.NDArray[np.float32]

    @property
    def start_seconds(self) -> float:
        return self.start / SAMPLE_RATE

    @property
    def end_seconds(self) -> float:
        return (self.start + len(self.pcm)) / SAMPLE_RATE


class UtteranceCutter:
    """Finds utterances in audio that keeps arriving.

    ``start_at`` is where the first appended sample lies in the recording (a takeover).
    ``silence_seconds`` of quiet end an utterance; ``pad_seconds`` of audio are kept around
    speech so that no word loses its edges.
    """

    def __init__(
        self,
        start_at: float = 0.0,
        *,
        silence_seconds: float = 0.4,
        pad_seconds: float = 0.2,
        max_seconds: float = 15.0,
        keep_seconds: float = 0.5,
    ) -> None:
        from faster_whisper.vad import VadOptions

        self.base = round(start_at * SAMPLE_RATE)
        self._pieces: list[npt.NDArray[np.float32]] = []
        self._held = np.zeros(0, dtype=np.float32)
        self._silence = int(silence_seconds * SAMPLE_RATE)
        self._pad = int(pad_seconds * SAMPLE_RATE)
        self._max = int(max_seconds * SAMPLE_RATE)
        self._keep = int(keep_seconds * SAMPLE_RATE)
        self._max_seconds = max_seconds
        # No padding inside the VAD: an utterance still being spoken is then exactly one that
        # runs to the end of the held audio. Padding is added here, within the pauses.
        self._vad = VadOptions(min_silence_duration_ms=int(silence_seconds * 1000), speech_pad_ms=0)
        self.open: Utterance | None = None
        """The utterance still being spoken, as of the last :meth:`cut`."""
        # When the last cut left an utterance open (or cut one at the length limit), the held
        # audio starts with it: it starts right there, not where the VAD, run again from a
        # cold start, first hears speech. A takeover (``start_at`` past 0) may start inside
        # speech, where the session before it settled words by agreement: it goes on there.
        self._continues = start_at > 0

    @property
    def end(self) -> int:
        """Sample index (in the recording) just after the last appended sample."""
        return self.base + len(self._held) + sum(len(p) for p in self._pieces)

    def add(self, pcm: npt.NDArray[np.float32]) -> None:
        if len(pcm):
            self._pieces.append(np.asarray(pcm, dtype=np.float32))

    def _gather(self) -> npt.NDArray[np.float32]:
        if self._pieces:
            self._held = np.concatenate([self._held, *self._pieces])
            self._pieces.clear()
        return self._held

    def _drop(self, upto: int) -> None:
        """Forget the held samples before ``upto`` (an index into the held samples)."""
        self._held = self._held[upto:]
        self.base += upto

    def advance(self, seconds: float) -> None:
        """The open utterance's speech before ``seconds`` is transcribed for good: forget it,
        so that the utterance goes on from there."""
        if self.open is None:
            return
        upto = min(len(self._held), max(0, round(seconds * SAMPLE_RATE) - self.base))
        self._drop(upto)
        self.open = Utterance(self.base, self._held)

    def cut(self, final: bool = False) -> list[Utterance]:
        """The utterances that are over (all that hold speech when ``final``), in order.

        Runs the VAD over the held audio (CPU work: call it from a thread).
        """
        from faster_whisper.vad import get_speech_timestamps

        held = self._gather()
        self.open = None
        if not len(held):
            return []
        speech = get_speech_timestamps(held, self._vad)
        if not speech:
            self._drop(len(held) if final else max(0, len(held) - self._keep))
            self._continues = False
            return []
        spans = self._padded(speech, len(held))
        if self._continues:
            spans[0] = (0, spans[0][1])
        closed: list[Utterance] = []
        still_open = not final and speech[-1]["end"] >= len(held) - _VAD_WINDOW
        done = spans[:-1] if still_open else spans
        for start, end in done:
            closed.append(Utterance(self.base + start, held[start:end]))
        if still_open:
            start = spans[-1][0]
            while len(held) - start > self._max:
                # A speaker who never pauses: cut at the quietest stretch before the limit.
                (_, cut), *_ = plan_cuts(held[start:], SAMPLE_RATE, self._max_seconds)
                closed.append(Utterance(self.base + start, held[start : start + cut]))
                start += cut
            self._drop(start)
            self.open = Utterance(self.base, self._held)
        else:
            self._drop(len(held) if final else done[-1][1])
        self._continues = still_open
        return closed

    def _padded(self, speech: list[dict[str, int]], total: int) -> list[tuple[int, int]]:
        """Speech spans widened by the pad on each side, never into each other."""
        spans: list[tuple[int, int]] = []
        for i, span in enumerate(speech):
            lo = max(0, span["start"] - self._pad, spans[-1][1] if spans else 0)
            nxt = speech[i + 1]["start"] if i + 1 < len(speech) else total
            hi = min(total, span["end"] + self._pad, max(span["end"], (span["end"] + nxt) // 2))
            spans.append((lo, hi))
        return spans
