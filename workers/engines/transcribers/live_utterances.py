"""A live session made of VAD-cut utterances, for engines that transcribe a clip at a time.

The session keeps one driver task. Pushed samples wait in a small buffer; every
``vad_every`` seconds of new audio the driver runs the cutter (in a thread), sends each
finished utterance to the engine and yields its pieces as final results, which are never
revised. When the engine can guess (``UtteranceEngine.interim``), the open utterance is
transcribed again every ``interim_every`` seconds of new audio, but only while nothing
final waits: finals come first, so the session keeps up with real time by dropping guesses,
never text.

Words settle before their utterance ends (LocalAgreement-2, as ufal/whisper_streaming): the
leading pieces that two guesses in a row heard alike, never the newest guess's last piece
nor one ending in the last ``settle_seconds``, become final at once, and the open
utterance's audio before their end is dropped, so the utterance goes on from there. A long
turn's first sentence no longer waits for the turn to end.

Every clip is sent with the last :data:`CONTEXT_CHARS` of confirmed text, which an engine
with a prompt primes its model with (the local one as Whisper's initial prompt): an
utterance is then heard as the rest of the conversation, not cold.

The last final piece of an utterance ends where the utterance's speech ends (Whisper's own
end times fall short now and then): a worker taking over at that point starts in the pause
after it, so it hears no word twice. A piece settled by agreement ends where the engine
heard it end, which is where the session itself cut its audio: a worker taking over there
goes on exactly as the session would have.

Measured with the bench's 330 s consultation pushed as fast as the session takes it
(audio-time lag, no CPU wait; batch WER 0.174): cold 15 s utterances gave live WER 0.231,
final lag p50 6.07 s, p95 13.02 s; agreement and priming 0.197, 0.81 s, 7.94 s; with
utterances of up to 30 s (one Whisper window: more of the turn heard at once, and agreement
settles its words meanwhile) 0.173, 0.94 s, 13.91 s; with beam 5 and 800 characters of
context 0.135 against batch 0.135, 0.94 s, 2.77 s. An engine without guesses (Groq) has no
agreement, so its utterances stay at 15 s (live_groq.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workers.engines.errors import EngineError, PermanentEngineError
from workers.engines.live import LiveResult, LiveSession
from workers.engines.transcribers.utterances import SAMPLE_RATE, Utterance, UtteranceCutter

_END = object()
#: Confirmed text an engine is primed with: about 180 tokens, under Whisper's 223-token prompt
#: cap. ufal/whisper_streaming's 200 characters left live WER 0.016 above batch (0.151 against
#: 0.135, bench.live_session, beam 5); 800 matched it.
CONTEXT_CHARS = 800


@dataclass(frozen=True, slots=True)
class Heard:
    """Text an engine heard, times in seconds from the start of the recording."""

    start: float
    end: float
    text: str


class UtteranceEngine(ABC):
    """Transcribes one clip of 16 kHz mono PCM for a session."""

    #: Whether the session should ask for guesses at the open utterance.
    interim: bool = True
    #: The language heard (BCP-47) once known, when the engine detects it.
    language: str | None = None
    #: The model's name to store with the transcript when the engine picks one by language.
    model_name: str = ""

    @abstractmethod
    async def transcribe(
        self, pcm: npt.NDArray[np.float32], offset: float, context: str = ""
    ) -> list[Heard]:
        """What is said in ``pcm``, which starts ``offset`` seconds into the recording.

        ``context`` is the confirmed text just before it (at most :data:`CONTEXT_CHARS`), for
        an engine that can prime its model with it as a batch transcriber's window is primed by
        the speech around it."""


def _words(text: str) -> list[str]:
    return [w.lower().strip(".,?!;:\"'") for w in text.split()]


def agreed(before: list[Heard], now: list[Heard], settle: float) -> int:
    """How many leading pieces of ``now`` to confirm: those the guess before heard alike
    (same words, ends within ``settle`` s), never the last, which may still be cut mid-word
    (LocalAgreement-2, by pieces, as in ufal/whisper_streaming)."""
    count = 0
    for a, b in zip(before, now[:-1], strict=False):
        if _words(a.text) != _words(b.text) or not _words(b.text) or abs(a.end - b.end) > settle:
            break
        count += 1
    return count


def stability(before: str, now: str) -> float:
    """Share of ``now``'s words that the previous guess already had in the same places
    (LocalAgreement's idea: words two guesses agree on seldom change)."""
    old, new = before.split(), now.split()
    if not new:
        return 0.0
    same = 0
    for a, b in zip(old, new, strict=False):
        if a.lower().strip(".,?!") != b.lower().strip(".,?!"):
            break
        same += 1
    return round(same / len(new), 3)


class UtteranceSession(LiveSession):
    def __init__(
        self,
        engine: UtteranceEngine,
        start_at: float = 0.0,
        *,
        said: str = "",
        vad_every: float = 0.5,
        interim_every: float = 1.5,
        max_pending_seconds: float = 30.0,
        max_utterance_seconds: float = 30.0,
        settle_seconds: float = 0.5,
    ) -> None:
        self.engine = engine
        self._cutter = UtteranceCutter(start_at, max_seconds=max_utterance_seconds)
        self._pending: list[npt.NDArray[np.float32]] = []
        self._pending_samples = 0
        self._vad_every = int(vad_every * SAMPLE_RATE)
        self._interim_every = int(interim_every * SAMPLE_RATE)
        self._max_pending = int(max_pending_seconds * SAMPLE_RATE)
        self._finished = False
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._out: asyncio.Queue[object] = asyncio.Queue()
        self._driver: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._last_final_end = start_at
        self._guess = ""
        self._guessed: list[Heard] = []
        self._settle = settle_seconds
        self._said = said[-CONTEXT_CHARS:].lstrip()

    @property
    def language(self) -> str | None:
        """The language the engine heard, once known (None when it was given)."""
        return self.engine.language

    @property
    def model_name(self) -> str:
        """The model that transcribed, when the engine picked one by language (else "")."""
        return self.engine.model_name

    @property
    def backlog_seconds(self) -> float:
        """Seconds of pushed audio the session has not taken up yet."""
        return self._pending_samples / SAMPLE_RATE

    def _start(self) -> None:
        if self._driver is None:
            self._driver = asyncio.create_task(self._drive())

    async def push(self, pcm: npt.NDArray[np.float32]) -> None:
        self._start()
        if self._finished:
            raise PermanentEngineError("Audio was pushed to a live session after finish.")
        while self._pending_samples >= self._max_pending and self._failure is None:
            self._room.clear()
            await self._room.wait()
        if self._failure is not None:
            raise self._failure
        if len(pcm):
            self._pending.append(pcm)
            self._pending_samples += len(pcm)
            self._wake.set()

    async def finish(self) -> None:
        self._start()
        self._finished = True
        self._wake.set()

    async def results(self) -> AsyncIterator[LiveResult]:
        self._start()
        while True:
            item = await self._out.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, LiveResult)
            yield item

    async def aclose(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver

    async def _drive(self) -> None:
        try:
            await self._loop()
        except asyncio.CancelledError:
            raise
        except EngineError as exc:
            self._fail(exc)
        except Exception as exc:
            error = PermanentEngineError(f"Live transcription failed: {type(exc).__name__}.")
            error.__cause__ = exc
            self._fail(error)

    def _fail(self, exc: BaseException) -> None:
        self._failure = exc
        self._room.set()
        self._out.put_nowait(exc)

    def _take(self) -> int:
        taken = self._pending_samples
        for pcm in self._pending:
            self._cutter.add(pcm)
        self._pending.clear()
        self._pending_samples = 0
        self._room.set()
        return taken

    async def _loop(self) -> None:
        unchecked = 0
        guessed_at = self._cutter.end
        while True:
            await self._wake.wait()
            self._wake.clear()
            unchecked += self._take()
            finishing = self._finished
            if unchecked < self._vad_every and not finishing:
                continue
            unchecked = 0
            closed = await asyncio.to_thread(self._cutter.cut, finishing)
            for utterance in closed:
                await self._final(utterance)
                guessed_at = self._cutter.end
            if finishing and not self._pending:
                self._out.put_nowait(_END)
                return
            open_ = self._cutter.open
            if (
                self.engine.interim
                and open_ is not None
                and self._cutter.end - guessed_at >= self._interim_every
                and self._pending_samples < self._vad_every
            ):
                guessed_at = self._cutter.end
                await self._interim(open_)
            if self._pending or self._finished:
                self._wake.set()

    async def _final(self, utterance: Utterance) -> None:
        heard = await self.engine.transcribe(utterance.pcm, utterance.start_seconds, self._said)
        heard = [h for h in heard if h.text.strip()]
        self._guess = ""
        self._guessed = []
        self._confirm(heard, utterance, whole=True)

    def _confirm(self, heard: list[Heard], utterance: Utterance, *, whole: bool) -> None:
        """Send ``heard`` (pieces of ``utterance``) as final. When it is the ``whole`` rest of
        the utterance, the last piece ends where the utterance's speech ends."""
        for i, h in enumerate(heard):
            start = max(h.start, self._last_final_end, utterance.start_seconds)
            last = whole and i == len(heard) - 1
            end = utterance.end_seconds if last else min(h.end, utterance.end_seconds)
            end = max(end, start)
            self._last_final_end = end
            text = h.text.strip()
            self._said = (self._said + " " + text)[-CONTEXT_CHARS:].lstrip()
            self._out.put_nowait(
                LiveResult(
                    text=text, start=round(start, 3), end=round(end, 3), final=True, stability=1.0
                )
            )

    async def _interim(self, utterance: Utterance) -> None:
        heard = await self.engine.transcribe(utterance.pcm, utterance.start_seconds, self._said)
        heard = [h for h in heard if h.text.strip()]
        if self._cutter.open is not utterance:
            return  # cut meanwhile (cannot happen today: the loop awaits one thing at a time)
        # Pieces two guesses in a row agree on are final now, not at the utterance's end; the
        # audio they cover is dropped, so the utterance goes on from where they end.
        settled = agreed(self._guessed, heard, self._settle)
        upto = utterance.end_seconds - self._settle
        while settled and heard[settled - 1].end > upto:
            settled -= 1
        if settled:
            confirmed, heard = heard[:settled], heard[settled:]
            self._confirm(confirmed, utterance, whole=False)
            self._cutter.advance(self._last_final_end)
            self._guess = ""
        self._guessed = heard
        text = " ".join(h.text.strip() for h in heard)
        if not text:
            return
        self._out.put_nowait(
            LiveResult(
                text=text,
                start=round(max(utterance.start_seconds, self._last_final_end), 3),
                end=round(utterance.end_seconds, 3),
                final=False,
                stability=stability(self._guess, text),
            )
        )
        self._guess = text
