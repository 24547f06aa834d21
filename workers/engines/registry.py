"""Engines by name: "local" runs here; other names come from the cloud factory.

Engines are built once per process and shared by its jobs. Live transcribers (for jobs
whose audio is still arriving) are a separate set: "local" and "groq" cut utterances with
Silero VAD and transcribe each; "openai" (Realtime) is added beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.settings import EnglishModel, Settings
from workers.engines.base import Summarizer, Transcriber
from workers.engines.errors import PermanentEngineError
from workers.engines.live import LiveTranscriber

if TYPE_CHECKING:
    from workers.engines.transcribers.local import LocalWhisperTranscriber

#: Transcribers that can follow a live upload.
LIVE_TRANSCRIBERS = ("local", "groq", "openai")


class Engines:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._transcribers: dict[str, Transcriber] = {}
        self._summarizers: dict[str, Summarizer] = {}
        self._live: dict[str, LiveTranscriber] = {}
        self._whisper: dict[str, LocalWhisperTranscriber] = {}

    def register(self, name: str, engine: Transcriber | Summarizer | LiveTranscriber) -> None:
        """Add an engine under ``name`` (embedding applications and benchmarks)."""
        if isinstance(engine, LiveTranscriber):
            self._live[name] = engine
        elif isinstance(engine, Transcriber):
            self._transcribers[name] = engine
        else:
            self._summarizers[name] = engine

    def transcriber(self, name: str) -> Transcriber:
        if name not in self._transcribers:
            self._transcribers[name] = self._build_transcriber(name)
        return self._transcribers[name]

    def live_transcriber(self, name: str) -> LiveTranscriber:
        """The engine that transcribes a live job's audio as it arrives."""
        if name not in self._live:
            self._live[name] = self._build_live_transcriber(name)
        return self._live[name]

    def summarizer(self, name: str) -> Summarizer:
        if name not in self._summarizers:
            self._summarizers[name] = self._build_summarizer(name)
        return self._summarizers[name]

    def _local_whisper(self, english_model: EnglishModel | None = None) -> LocalWhisperTranscriber:
        """faster-whisper as configured, English on ``english_model`` (batch's by default).

        Batch and live each get one (live's English model is its own setting); the loaded
        models are shared between them, per model folder.
        """
        english_model = english_model or self.settings.whisper_english_model
        if english_model not in self._whisper:
            from workers.engines.transcribers.local import LocalWhisperTranscriber
            from workers.engines.transcribers.models import multilingual_model_path

            settings = self.settings
            path = settings.whisper_model_path

            def multilingual() -> Path:
                if settings.whisper_multilingual_model_path:
                    return Path(settings.whisper_multilingual_model_path)
                return multilingual_model_path(settings.data_dir / "models")

            self._whisper[english_model] = LocalWhisperTranscriber(
                Path(path) if path else None,
                multilingual_path=multilingual,
                window_seconds=settings.whisper_window_seconds,
                builtin_hotwords=settings.whisper_builtin_hotwords,
                multilingual_beam_size=settings.whisper_multilingual_beam_size,
                threads=settings.whisper_threads,
                beam_size=settings.whisper_beam_size,
                condition_on_previous_text=settings.whisper_condition_on_previous_text,
                workers=settings.worker_concurrency,
                english_model=english_model,
                patience=settings.whisper_patience,
            )
        return self._whisper[english_model]

    def _build_transcriber(self, name: str) -> Transcriber:
        if name == "local":
            from workers.engines.cloud.settings import ProviderSettings
            from workers.engines.transcribers.channels import ChannelTranscriber
            from workers.engines.transcribers.speaker_roles import RoleTranscriber

            # A two-channel recording (clinician on one side, patient on the other) is
            # transcribed channel by channel, each segment labelled with its channel's role;
            # a mono one gets roles from its voices and words.
            # (CONSULTA_SPEAKER_ROLES_FROM_VOICES; it holds segments back to the end).
            channels = ChannelTranscriber(self._local_whisper(), ProviderSettings().channel_roles)
            if self.settings.speaker_roles_from_voices:
                return RoleTranscriber(channels)
            return channels
        from workers.engines.cloud.factory import build_transcriber

        try:
            return build_transcriber(name)
        except ValueError as exc:
            raise PermanentEngineError(f"Unknown transcription engine {name!r}.") from exc

    def _build_live_transcriber(self, name: str) -> LiveTranscriber:
        if name == "local":
            from workers.engines.transcribers.live_local import LocalLiveTranscriber

            return LocalLiveTranscriber(
                self._local_whisper(self.settings.whisper_live_english_model)
            )
        if name == "groq":
            from workers.engines.cloud.factory import shared_context
            from workers.engines.transcribers.groq import GroqTranscriber
            from workers.engines.transcribers.live_groq import GroqLiveTranscriber

            return GroqLiveTranscriber(GroqTranscriber(shared_context()))
        if name == "openai":
            from workers.engines.cloud.factory import shared_context
            from workers.engines.transcribers.openai_realtime import openai_live_transcriber

            return openai_live_transcriber(context=shared_context())
        raise PermanentEngineError(
            f"The transcription engine {name!r} cannot transcribe a live upload; live jobs "
            f"take {', '.join(LIVE_TRANSCRIBERS)}."
        )

    def _build_summarizer(self, name: str) -> Summarizer:
        if name == "local":
            from workers.engines.notes.local import LocalSummarizer

            return LocalSummarizer()
        from workers.engines.cloud.factory import build_summarizer

        try:
            return build_summarizer(name)
        except ValueError as exc:
            raise PermanentEngineError(f"Unknown note engine {name!r}.") from exc

    async def aclose(self) -> None:
        for transcriber in self._transcribers.values():
            await transcriber.aclose()
        for summarizer in self._summarizers.values():
            await summarizer.aclose()
        for live in self._live.values():
            close = getattr(live, "aclose", None)  # the port has no close; some hold a client
            if close is not None:
                await close()
