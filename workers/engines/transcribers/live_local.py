"""Live transcription on the CPU: each utterance goes to the batch transcriber's model.

The model, its loading, the language rule (tiny.en for English, base for the rest, detected
on the first utterance that holds speech when no language is given), hotwords and Whisper's
own VAD filter all come from :class:`LocalWhisperTranscriber`, so a live job hears what a
batch job of the same audio hears. Whisper runs in a thread; one session asks it for one
clip at a time.

Speakers stay UNKNOWN, as in a batch job of a one-channel recording: the note engine tells
clinician from patient over the whole transcript.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import numpy.typing as npt

from workers.engines.base import TranscribeOptions
from workers.engines.errors import EngineError, PermanentEngineError
from workers.engines.live import LiveSession, LiveTranscriber
from workers.engines.transcribers.live_utterances import Heard, UtteranceEngine, UtteranceSession
from workers.engines.transcribers.local import LocalWhisperTranscriber
from workers.engines.transcribers.vocabulary import hotwords


class LocalUtteranceEngine(UtteranceEngine):
    interim = True

    def __init__(self, whisper: LocalWhisperTranscriber, options: TranscribeOptions) -> None:
        self.whisper = whisper
        self.asked = (options.language or "").split("-")[0].lower() or None
        self.vocabulary = hotwords(options.vocabulary, whisper.builtin_hotwords)
        self._model: Any = None
        english_only = whisper.english_only and whisper.multilingual_path is None
        if self.asked and self.asked != "en" and english_only:
            whisper._model_for(self.asked)  # raises the reason before any work

    async def transcribe(
        self, pcm: npt.NDArray[np.float32], offset: float, context: str = ""
    ) -> list[Heard]:
        try:
            return await asyncio.to_thread(self._transcribe, pcm, offset, context)
        except EngineError:
            raise
        except Exception as exc:
            raise PermanentEngineError(
                f"The local transcriber failed: {type(exc).__name__}."
            ) from exc

    def _transcribe(self, pcm: npt.NDArray[np.float32], offset: float, context: str) -> list[Heard]:
        # Models load here, in the thread: the first load (or joining the multilingual model)
        # takes seconds that the event loop must not wait.
        language = self.asked or self.language
        if language is None:
            language = self.whisper._detect(pcm)
            if language is None:
                return []  # no speech yet to tell the language by
            self.language = language
        if self._model is None:
            self._model, self.model_name = self.whisper._model_for(language)
        found = self.whisper.transcribe_window(
            self._model, pcm, language, self.vocabulary, context=context
        )
        return [
            Heard(offset + float(s.start), offset + float(s.end), str(s.text).strip())
            for s in found
        ]


class LocalLiveTranscriber(LiveTranscriber):
    """faster-whisper live, on the model set the batch local transcriber uses."""

    def __init__(self, whisper: LocalWhisperTranscriber, **session_settings: float) -> None:
        self.whisper = whisper
        self.name = whisper.name
        self.session_settings = session_settings

    def open_session(
        self, options: TranscribeOptions, *, start_at: float = 0.0, said: str = ""
    ) -> LiveSession:
        engine = LocalUtteranceEngine(self.whisper, options)
        return UtteranceSession(engine, start_at, said=said, **self.session_settings)
