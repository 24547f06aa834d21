"""Words settle before their utterance ends (LocalAgreement), and engines hear what was said.

A scripted engine stands for Whisper: it "hears" one numbered word per second of recording
that its clip covers whole, and the clip's trailing part as an unfinished word. The real
Silero VAD cuts real speech (the committed sample with its pauses squeezed out, so one turn
runs for 40 s): without agreement nothing would settle until the 40 s cap.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np
import numpy.typing as npt
import pytest

from core.audio import decode_pcm
from tests.e2e.audio import SAMPLE
from workers.engines.live import LiveResult
from workers.engines.transcribers.live_utterances import (
    CONTEXT_CHARS,
    Heard,
    UtteranceEngine,
    UtteranceSession,
    agreed,
)
from workers.engines.transcribers.utterances import SAMPLE_RATE, UtteranceCutter

PIECE = SAMPLE_RATE // 2
TALK_SECONDS = 40


class Scripted(UtteranceEngine):
    """One word per whole second of the recording: "w7" is said from 7 s to 8 s."""

    interim = True

    def __init__(self) -> None:
        self.contexts: list[str] = []
        self.clips: list[tuple[float, float]] = []

    async def transcribe(
        self, pcm: npt.NDArray[np.float32], offset: float, context: str = ""
    ) -> list[Heard]:
        end = offset + len(pcm) / SAMPLE_RATE
        self.contexts.append(context)
        self.clips.append((offset, end))
        heard = [
            Heard(float(s), float(s + 1), f"w{s}")
            for s in range(math.ceil(offset - 1e-6), math.floor(end + 1e-6))
            if s + 1 <= end + 1e-6
        ]
        tail = max(offset, float(math.floor(end + 1e-6)))
        if end - tail > 0.05:
            heard.append(Heard(tail, end, f"w{int(tail)}-"))  # a word still being said
        return heard


@pytest.fixture(scope="module")
def talk() -> npt.NDArray[np.float32]:
    speech = decode_pcm(SAMPLE)[: 45 * SAMPLE_RATE]
    voiced = speech[np.abs(speech) > 0.002]
    return np.concatenate([voiced, voiced])[: TALK_SECONDS * SAMPLE_RATE]


async def run(engine: Scripted, pcm: npt.NDArray[np.float32]) -> list[tuple[float, LiveResult]]:
    """Push ``pcm`` as a microphone would (each piece once the last is taken up); each
    result with the recording time that had been pushed when it came."""
    session = UtteranceSession(engine, max_utterance_seconds=60.0)
    pushed = 0.0
    results: list[tuple[float, LiveResult]] = []

    async def read() -> None:
        async for result in session.results():
            results.append((pushed, result))

    reader = asyncio.create_task(read())
    try:
        for i in range(0, len(pcm), PIECE):
            await session.push(pcm[i : i + PIECE])
            pushed = min(len(pcm), i + PIECE) / SAMPLE_RATE
            for _ in range(3000):  # bounded: a minute at most
                await asyncio.sleep(0.02)
                if session.backlog_seconds == 0:
                    break
        await session.finish()
        await asyncio.wait_for(reader, timeout=120)
    finally:
        await session.aclose()
    return results


@pytest.fixture(scope="module")
async def outcome(talk: npt.NDArray[np.float32]) -> tuple[Scripted, list[tuple[float, LiveResult]]]:
    engine = Scripted()
    return engine, await run(engine, talk)


def test_agreement_takes_the_common_leading_pieces_never_the_last() -> None:
    a = [Heard(0, 1, "Take the"), Heard(1, 2, "pills."), Heard(2, 2.5, "Twi")]
    b = [Heard(0, 1, "take the"), Heard(1, 2.2, "pills"), Heard(2.2, 3, "Twice a")]
    assert agreed(a, b, 0.5) == 2
    assert agreed(a, b[:2], 0.5) == 1  # the newest guess's last piece may be cut mid-word
    assert agreed(a, [Heard(0, 1, "Take a"), *b[1:]], 0.5) == 0  # words differ
    assert agreed(a, [Heard(0, 1.8, "Take the"), *b[1:]], 0.5) == 0  # ends far apart
    assert agreed([], b, 0.5) == 0


def test_words_settle_while_the_turn_is_still_going(
    outcome: tuple[Scripted, list[tuple[float, LiveResult]]],
) -> None:
    _, results = outcome
    finals = [(pushed, r) for pushed, r in results if r.final]
    during = [(pushed, r) for pushed, r in finals if pushed < TALK_SECONDS]
    # Without agreement the first final would wait for the 40 s turn to end.
    assert during, "nothing settled before the end of the turn"
    lags = [pushed - r.end for pushed, r in during]
    assert max(lags) < 6.0  # two guesses, 1.5 s of audio apart, plus the half-second margin


def test_settled_words_are_each_said_once_in_order(
    outcome: tuple[Scripted, list[tuple[float, LiveResult]]],
) -> None:
    _, results = outcome
    finals = [r for _, r in results if r.final]
    end = 0.0
    for final in finals:
        assert final.start >= end - 1e-6 and final.end >= final.start
        end = final.end
    words = " ".join(r.text for r in finals).split()
    whole = [w for w in words if not w.endswith("-")]
    numbers = [int(w[1:]) for w in whole]
    assert numbers == sorted(set(numbers)), "a settled word repeated or out of order"
    assert numbers[0] == 0 and numbers[-1] >= TALK_SECONDS - 3


def test_the_engine_is_primed_with_the_words_settled_before(
    outcome: tuple[Scripted, list[tuple[float, LiveResult]]],
) -> None:
    engine, results = outcome
    finals = [r for _, r in results if r.final]
    assert engine.contexts[0] == ""
    primed = [c for c in engine.contexts if c]
    assert primed and all(len(c) <= CONTEXT_CHARS for c in primed)
    said = " ".join(r.text for r in finals)
    assert all(c in said for c in primed)
    # A clip after settling starts where the settled words end: none is heard again.
    starts = [start for start, _ in engine.clips]
    assert max(starts) > 0


def test_the_cutter_forgets_settled_speech_of_the_open_utterance(
    talk: npt.NDArray[np.float32],
) -> None:
    cutter = UtteranceCutter(max_seconds=60.0)
    cutter.add(talk[: 10 * SAMPLE_RATE])
    assert cutter.cut() == []
    assert cutter.open is not None and cutter.open.start_seconds < 0.5
    cutter.advance(4.0)
    assert cutter.open is not None
    assert cutter.open.start_seconds == pytest.approx(4.0, abs=1 / SAMPLE_RATE)
    assert cutter.open.end_seconds == pytest.approx(10.0, abs=1 / SAMPLE_RATE)
    cutter.add(talk[10 * SAMPLE_RATE : 12 * SAMPLE_RATE])
    assert cutter.cut() == []
    assert cutter.open is not None and cutter.open.start_seconds == pytest.approx(4.0, abs=0.001)
