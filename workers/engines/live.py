"""The live engine port: transcription that follows audio while it is still arriving.

A live job's worker decodes the audio as the upload commits it and pushes 16 kHz mono
float32 samples, in order, into a :class:`LiveSession`. The session answers with
:class:`LiveResult` items: interim guesses at the utterance being spoken (which a later
result replaces) and final segments (which never change). ``finish`` says no more audio
comes; the session then transcribes the tail and its ``results`` iterator ends.

Times are seconds from the start of the recording. A session opened with ``start_at``
(a worker taking over a live job after the last final segment its predecessor stored) is
pushed the samples from that point on, and reports times from the start of the recording
all the same.

Sessions raise only :class:`workers.engines.errors.EngineError` subclasses, like the batch
engines, and keep the batch engines' retry and rate-limit rules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.domain import Speaker
from workers.engines.base import TranscribeOptions

#: Samples per second of what a session is pushed.
LIVE_SAMPLE_RATE = 16_000


@dataclass(frozen=True, slots=True)
class LiveResult:
    """A transcript result of a live session.

    ``final`` False: an interim guess at the utterance from ``start`` to ``end`` (the whole
    utterance's text so far, not a delta), with ``stability`` from 0.0 to 1.0. ``final``
    True: a settled segment; the worker stores it with the next segment id.
    """

    text: str
    start: float
    end: float
    final: bool
    stability: float = 0.0
    speaker: Speaker = Speaker.UNKNOWN


class LiveSession(ABC):
    """One live job's transcription, fed samples as they arrive."""

    @abstractmethod
    async def push(self, pcm: npt.NDArray[np.float32]) -> None:
        """Append samples (16 kHz mono float32, in order). May wait while the engine is busy."""

    @abstractmethod
    async def finish(self) -> None:
        """No more audio: transcribe what is left; ``results`` ends once it is out."""

    @abstractmethod
    def results(self) -> AsyncIterator[LiveResult]:
        """Interim and final results in order; ends after ``finish`` when all are out."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most sessions hold nothing
        """Release what the session holds (a websocket, a thread)."""


class LiveTranscriber(ABC):
    """An engine that can transcribe while the audio arrives."""

    #: Engine name as stored in transcripts, for example "local:faster-whisper-tiny.en".
    name: str

    @abstractmethod
    def open_session(
        self, options: TranscribeOptions, *, start_at: float = 0.0, said: str = ""
    ) -> LiveSession:
        """A new session for one job; ``start_at`` is where its first pushed sample lies, and
        ``said`` the text already stored before it (a takeover), which an engine that is
        primed with what came before continues from."""
