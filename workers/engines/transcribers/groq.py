"""Groq speech to text: whisper-large-v3 and whisper-large-v3-turbo, official ``groq`` SDK.

Groq answers whole (no streamed text), with segment times in ``verbose_json``; progress is
reported chunk by chunk. A vocabulary prompt steers Whisper's spelling like OpenAI's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import groq

from workers.engines.base import TranscribeOptions
from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.limits import limiter_for
from workers.engines.cloud.retry import call_with_retries
from workers.engines.errors import PermanentEngineError
from workers.engines.notes.groq import groq_client
from workers.engines.transcribers.chunked import (
    ChunkedTranscriber,
    ChunkEvent,
    ChunkResult,
    Recording,
)
from workers.engines.transcribers.openai import vocabulary_prompt
from workers.engines.transcribers.splitting import Chunk
from workers.engines.transcribers.text_timing import Piece

PROVIDER = "Groq"

# Whisper names the language it heard in English ("spanish"); we store BCP-47 codes.
_LANGUAGE_CODES = {
    "english": "en",
    "spanish": "es",
    "portuguese": "pt",
    "french": "fr",
    "german": "de",
    "italian": "it",
    "catalan": "ca",
}


def language_code(name: str | None) -> str | None:
    if not name:
        return None
    lowered = name.strip().lower()
    return _LANGUAGE_CODES.get(lowered, lowered if len(lowered) in (2, 3) else None)


class GroqTranscriber(ChunkedTranscriber):
    """Whisper on Groq; model from settings."""

    def __init__(self, context: ProviderContext) -> None:
        s = context.settings
        super().__init__(s)
        self._context = context
        self._model = s.groq_transcribe_model
        self.name = f"groq:{self._model}"
        # Groq counts audio against its own per-minute limits; requests are what we can see.
        self._limiter = limiter_for("groq-audio", s.groq_requests_per_minute, 0)
        self._client: groq.AsyncGroq | None = None

    async def _get_client(self) -> groq.AsyncGroq:
        if self._client is None:
            self._client = groq_client(self._context, await self._context.keys.get("GROQ_API_KEY"))
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def transcribe_chunk(
        self, chunk: Chunk, options: TranscribeOptions, recording: Recording
    ) -> AsyncIterator[ChunkEvent]:
        client = await self._get_client()
        extra: dict[str, Any] = {}
        if options.language:
            extra["language"] = options.language.split("-")[0]
        prompt = vocabulary_prompt(options.vocabulary)
        if prompt:
            extra["prompt"] = prompt

        async def call() -> ChunkResult:
            await self._limiter.acquire()
            answer = await client.audio.transcriptions.create(
                file=(chunk.filename, chunk.data),
                model=self._model,
                response_format="verbose_json",
                temperature=0.0,
                **extra,
            )
            return _result(answer.model_dump())

        yield await call_with_retries(
            PROVIDER, self._context.policy, call, secrets=self._context.keys.known()
        )


def _result(body: dict[str, Any]) -> ChunkResult:
    """verbose_json as pieces; PermanentEngineError when it is not that shape."""
    segments = body.get("segments")
    if not isinstance(segments, list):
        raise PermanentEngineError(f"{PROVIDER} answered without segments (not verbose_json).")
    pieces = []
    for s in segments:
        try:
            pieces.append(Piece(float(s["start"]), float(s["end"]), str(s["text"]).strip()))
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentEngineError(f"{PROVIDER} sent a segment we could not read.") from exc
    return ChunkResult(pieces=pieces, language=language_code(body.get("language")))
