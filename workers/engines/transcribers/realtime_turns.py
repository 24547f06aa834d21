"""Bookkeeping of an OpenAI Realtime transcription session, apart from its socket.

Three pieces the session in ``openai_realtime.py`` drives:

- :class:`Upsampler` turns the 16 kHz float32 samples a live session is pushed into the
  24 kHz 16-bit little-endian PCM the Realtime API takes (the only PCM rate it accepts).
- :class:`RetainedAudio` keeps the PCM sent since the last settled point, so a connection
  that drops can be replaced by a new one fed that audio again, and nothing else.
- :class:`TurnTracker` turns the server's VAD and transcription events into
  :class:`LiveResult` items: interim text of the oldest unsettled turn, and finals in the
  order the turns were spoken even when the server completes them out of order.

Positions are counted in 24 kHz samples from the session's first pushed sample; each
connection's ``audio_start_ms``/``audio_end_ms`` are relative to the audio sent on that
connection, which starts at the connection's ``origin``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from workers.engines.live import LIVE_SAMPLE_RATE, LiveResult

#: Samples per second of the PCM the Realtime API takes.
PCM_RATE = 24_000
_BYTES_PER_SAMPLE = 2
#: Interim text of a committed turn only grows as deltas arrive; a dropped connection is the
#: one thing that can still replace it.
INTERIM_STABILITY = 0.9


class Upsampler:
    """16 kHz float32 blocks in, 24 kHz PCM16 bytes out, with filter state kept across blocks."""

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=PCM_RATE)
        self._pts = 0

    def push(self, pcm: npt.NDArray[np.float32]) -> bytes:
        if pcm.size == 0:
            return b""
        block = np.ascontiguousarray(np.clip(pcm, -1.0, 1.0), dtype=np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(block, format="flt", layout="mono")
        frame.sample_rate = LIVE_SAMPLE_RATE
        frame.pts = self._pts
        self._pts += block.shape[1]
        return self._pcm(frame)

    def flush(self) -> bytes:
        """What the filter still holds, at the end of the audio."""
        return self._pcm(None)

    def _pcm(self, frame: av.AudioFrame | None) -> bytes:
        outs = self._resampler.resample(frame)
        return b"".join(out.to_ndarray().astype("<i2").tobytes() for out in outs)


class RetainedAudio:
    """PCM from a settled point on, in the order it was sent."""

    def __init__(self) -> None:
        self._chunks: deque[tuple[int, bytes]] = deque()
        #: Samples added since the session started (the end of what is held).
        self.end = 0

    def add(self, pcm: bytes) -> None:
        if pcm:
            self._chunks.append((self.end, pcm))
            self.end += len(pcm) // _BYTES_PER_SAMPLE

    @property
    def start(self) -> int:
        return self._chunks[0][0] if self._chunks else self.end

    def trim(self, before: int) -> None:
        """Forget chunks that end at or before sample ``before``."""
        while self._chunks:
            first, data = self._chunks[0]
            if first + len(data) // _BYTES_PER_SAMPLE > before:
                break
            self._chunks.popleft()

    def since(self, sample: int) -> list[bytes]:
        """The held PCM from ``sample`` on (which must not be before :attr:`start`)."""
        out: list[bytes] = []
        for first, data in self._chunks:
            last = first + len(data) // _BYTES_PER_SAMPLE
            if last <= sample:
                continue
            skip = max(0, sample - first) * _BYTES_PER_SAMPLE
            out.append(data[skip:])
        return out

    def seconds(self) -> float:
        return (self.end - self.start) / PCM_RATE


@dataclass(slots=True)
class _Turn:
    """One utterance the server's VAD found: where it lies and its text so far."""

    item_id: str
    start: int
    #: Where the server committed the turn (its ``audio_end_ms``), None while speech goes on.
    commit: int | None = None
    #: End of the words: the commit less the silence the VAD waited for.
    end: int | None = None
    text: str = ""
    final: str | None = None
    shown: str = ""


class TurnTracker:
    """Server events in, results out; knows where a replacement connection must start."""

    def __init__(self, *, start_at: float, prefix_ms: int, silence_ms: int) -> None:
        self._start_at = start_at
        self._prefix = prefix_ms * PCM_RATE // 1000
        self._silence = silence_ms * PCM_RATE // 1000
        self._turns: list[_Turn] = []
        self._origin = 0
        #: Real audio sent so far (session samples), for clamping ends into the recording.
        self.sent = 0
        #: Where the next connection's audio starts: the commit of the last settled turn.
        self.resume = 0
        #: Finals handed out; a connection that drops after one has made progress.
        self.finals = 0

    @property
    def pending(self) -> bool:
        """Turns heard but not yet settled."""
        return bool(self._turns)

    def new_connection(self, origin: int) -> None:
        """A connection whose audio starts at session sample ``origin``: unsettled turns of
        the old one are forgotten (their audio is sent again and heard again)."""
        self._turns.clear()
        self._origin = origin

    def idle_resume(self, keep: int) -> None:
        """With nothing heard and unsettled, the resume point follows the audio, ``keep``
        samples behind it (long enough for any speech_started still on its way)."""
        if not self._turns:
            self.resume = max(self.resume, self.sent - keep)

    def _at(self, ms: int) -> int:
        return self._origin + ms * PCM_RATE // 1000

    def knows(self, item_id: str) -> bool:
        """Whether ``item_id`` is a turn not yet settled."""
        return self._find(item_id) is not None

    def _find(self, item_id: str) -> _Turn | None:
        return next((t for t in self._turns if t.item_id == item_id), None)

    def speech_started(self, item_id: str, audio_start_ms: int) -> list[LiveResult]:
        # audio_start_ms includes the prefix padding unless speech began within it.
        start = self._at(audio_start_ms) + (self._prefix if audio_start_ms > 0 else 0)
        if self._find(item_id) is None:
            self._turns.append(_Turn(item_id, min(start, max(self.sent, self._origin))))
        return []

    def speech_stopped(self, item_id: str, audio_end_ms: int) -> list[LiveResult]:
        turn = self._find(item_id)
        if turn is not None:
            self._close(turn, self._at(audio_end_ms), trim=True)
        return self._flush()

    def committed(self, item_id: str) -> bool:
        """The buffer was committed into ``item_id``. True when that answers our own final
        commit (an item no speech_started announced), which marks the end of the input."""
        if self._find(item_id) is not None:
            return False
        open_turn = next((t for t in self._turns if t.commit is None), None)
        if open_turn is not None:
            # Our commit cut a turn whose speech had not stopped: it ends with the audio.
            open_turn.item_id = item_id
            self._close(open_turn, self.sent, trim=False)
        return True

    def _close(self, turn: _Turn, commit: int, *, trim: bool) -> None:
        turn.commit = commit
        end = commit - self._silence if trim else commit
        turn.end = max(turn.start, min(end, self.sent))

    def delta(self, item_id: str, text: str) -> list[LiveResult]:
        turn = self._find(item_id)
        if turn is None:
            return []  # the silent tail our final commit made: nothing was said in it
        turn.text += text
        return self._flush()

    def completed(self, item_id: str, transcript: str) -> list[LiveResult]:
        turn = self._find(item_id)
        if turn is None:
            return []
        if turn.commit is None:
            self._close(turn, self.sent, trim=False)
        turn.final = transcript
        return self._flush()

    def _seconds(self, sample: int) -> float:
        return round(self._start_at + sample / PCM_RATE, 3)

    def _flush(self) -> list[LiveResult]:
        out: list[LiveResult] = []
        while self._turns and self._turns[0].final is not None:
            turn = self._turns.pop(0)
            assert turn.commit is not None and turn.end is not None and turn.final is not None
            self.resume = max(self.resume, turn.commit)
            text = " ".join(turn.final.split())
            if text:
                self.finals += 1
                out.append(
                    LiveResult(text, self._seconds(turn.start), self._seconds(turn.end), True, 1.0)
                )
        if self._turns:
            head = self._turns[0]
            text = " ".join(head.text.split())
            if text and text != head.shown:
                head.shown = text
                end = head.end if head.end is not None else max(head.start, self.sent)
                out.append(
                    LiveResult(
                        text,
                        self._seconds(head.start),
                        self._seconds(end),
                        False,
                        INTERIM_STABILITY,
                    )
                )
        return out
