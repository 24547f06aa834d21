"""Engines by name: "local" runs here; other names come from the cloud factory.

Engines are built once per process and shared by its jobs.
"""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from workers.engines.base import Summarizer, Transcriber
from workers.engines.errors import PermanentEngineError


class Engines:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._transcribers: dict[str, Transcriber] = {}
        self._summarizers: dict[str, Summarizer] = {}

    def register(self, name: str, engine: Transcriber | Summarizer) -> None:
        """Add an engine under ``name`` (embedding applications and benchmarks)."""
        if isinstance(engine, Transcriber):
            self._transcribers[name] = engine
        else:
            self._summarizers[name] = engine

    def transcriber(self, name: str) -> Transcriber:
        if name not in self._transcribers:
            self._transcribers[name] = self._build_transcriber(name)
        return self._transcribers[name]

    def summarizer(self, name: str) -> Summarizer:
        if name not in self._summarizers:
            self._summarizers[name] = self._build_summarizer(name)
        return self._summarizers[name]

    def _build_transcriber(self, name: str) -> Transcriber:
        if name == "local":
            from workers.engines.cloud.settings import ProviderSettings
            from workers.engines.transcribers.channels import ChannelTranscriber
            from workers.engines.transcribers.local import LocalWhisperTranscriber
            from workers.engines.transcribers.models import multilingual_model_path
            from workers.engines.transcribers.speaker_roles import RoleTranscriber

            settings = self.settings
            path = settings.whisper_model_path

            def multilingual() -> Path:
                if settings.whisper_multilingual_model_path:
                    return Path(settings.whisper_multilingual_model_path)
                return multilingual_model_path(settings.data_dir / "models")

            local = LocalWhisperTranscriber(
                Path(path) if path else None,
                multilingual_path=multilingual,
                window_seconds=settings.whisper_window_seconds,
                builtin_hotwords=settings.whisper_builtin_hotwords,
                multilingual_beam_size=settings.whisper_multilingual_beam_size,
                threads=self.settings.whisper_threads,
                beam_size=self.settings.whisper_beam_size,
                workers=self.settings.worker_concurrency,
            )
            # A two-channel recording (clinician on one side, patient on the other) is
            # transcribed channel by channel, each segment labelled with its channel's role;
            # a mono one gets roles from its voices and words.
            return RoleTranscriber(ChannelTranscriber(local, ProviderSettings().channel_roles))
        from workers.engines.cloud.factory import build_transcriber

        try:
            return build_transcriber(name)
        except ValueError as exc:
            raise PermanentEngineError(f"Unknown transcription engine {name!r}.") from exc

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
