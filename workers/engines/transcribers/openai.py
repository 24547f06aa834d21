"""OpenAI speech to text: gpt-4o-transcribe (or -mini) and gpt-4o-transcribe-diarize.

Both are called with ``stream=True``: each ``transcript.text.delta`` becomes interim text on
WatchJob as the model writes it. gpt-4o-transcribe returns text without times, so a chunk's
text is cut into sentences with times shared out over the chunk; the diarizing model returns
segments with times and speaker labels (``diarized_json``), which are mapped to roles.
"""

from __future__ import annotations

import asyncio
import base64
import io
import wave
from collections.abc import AsyncIterator
from typing import Any, cast

import numpy as np
import openai
from openai import AsyncStream
from openai.types.audio import (
    TranscriptionStreamEvent,
    TranscriptionTextDeltaEvent,
    TranscriptionTextDoneEvent,
    TranscriptionTextSegmentEvent,
)

from core.audio import SAMPLE_RATE, decode_blocks
from core.domain import Speaker
from workers.engines.base import TranscribeOptions
from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.limits import limiter_for
from workers.engines.cloud.retry import open_stream
from workers.engines.errors import PermanentEngineError
from workers.engines.transcribers.channels import assign_roles
from workers.engines.transcribers.chunked import (
    ChunkedTranscriber,
    ChunkEvent,
    ChunkResult,
    Recording,
)
from workers.engines.transcribers.splitting import Chunk
from workers.engines.transcribers.text_timing import Piece, spread_sentences

PROVIDER = "OpenAI"


def vocabulary_prompt(vocabulary: tuple[str, ...]) -> str:
    """A prompt that primes spelling of expected terms (the model follows a prompt's style)."""
    terms = [t.strip() for t in vocabulary if t.strip()]
    return ("Medical consultation. Terms: " + ", ".join(terms) + ".") if terms else ""


def openai_client(context: ProviderContext, key: str, base_url: str) -> openai.AsyncOpenAI:
    """An SDK client without its own retries (ours decide) and with our timeouts."""
    s = context.settings
    return openai.AsyncOpenAI(
        api_key=key,
        base_url=base_url or None,
        max_retries=0,
        timeout=openai.Timeout(
            s.provider_timeout_seconds, connect=s.provider_connect_timeout_seconds
        ),
    )


class OpenAITranscriber(ChunkedTranscriber):
    """gpt-4o-transcribe family; ``diarize`` selects the speaker-labelling model."""

    def __init__(self, context: ProviderContext, *, diarize: bool = False) -> None:
        s = context.settings
        super().__init__(s)
        self._context = context
        self._diarize = diarize
        # Later chunks need the first one's speakers to keep their labels.
        self.first_chunk_first = diarize
        self._model = s.openai_diarize_model if diarize else s.openai_transcribe_model
        self.name = f"openai:{self._model}"
        self._limiter = limiter_for(
            "openai", s.openai_requests_per_minute, s.openai_tokens_per_minute
        )
        self._client: openai.AsyncOpenAI | None = None

    async def _get_client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            key = await self._context.keys.get("OPENAI_API_KEY")
            self._client = openai_client(self._context, key, self._context.settings.openai_base_url)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _params(
        self, chunk: Chunk, options: TranscribeOptions, recording: Recording
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "file": (chunk.filename, chunk.data),
            "model": self._model,
            "stream": True,
        }
        if options.language:
            params["language"] = options.language.split("-")[0]
        if self._diarize:
            # The diarizing model needs a chunking strategy for audio over 30 s and takes
            # no prompt.
            params["response_format"] = "diarized_json"
            params["chunking_strategy"] = "auto"
            if recording.speakers:
                params["known_speaker_names"] = list(recording.speakers)
                params["known_speaker_references"] = list(recording.speakers.values())
        else:
            prompt = vocabulary_prompt(options.vocabulary)
            if prompt:
                params["prompt"] = prompt
        return params

    async def transcribe_chunk(
        self, chunk: Chunk, options: TranscribeOptions, recording: Recording
    ) -> AsyncIterator[ChunkEvent]:
        client = await self._get_client()
        params = self._params(chunk, options, recording)

        async def start() -> AsyncIterator[TranscriptionStreamEvent]:
            await self._limiter.acquire()
            # Parameters differ by model, so the SDK's overloads cannot type the call.
            stream = await client.audio.transcriptions.create(**params)
            return cast(AsyncStream[TranscriptionStreamEvent], stream)

        turns: list[Piece] = []
        labels: list[str] = []
        done: TranscriptionTextDoneEvent | None = None
        stream = open_stream(
            PROVIDER, self._context.policy, start, secrets=self._context.keys.known()
        )
        async for event in stream:
            # The SDK builds unknown event types into whichever union member fits, so the
            # type field decides, not the class.
            if event.type == "transcript.text.delta" and isinstance(
                event, TranscriptionTextDeltaEvent
            ):
                yield event.delta
            elif event.type == "transcript.text.segment" and isinstance(
                event, TranscriptionTextSegmentEvent
            ):
                turns.append(_turn(event))
                labels.append(str(event.speaker))
            elif event.type == "transcript.text.done" and isinstance(
                event, TranscriptionTextDoneEvent
            ):
                done = event
            # Other event types (new ones OpenAI may add) carry nothing we store.
        if done is None:
            raise PermanentEngineError(f"{PROVIDER} ended the transcription without its text.")
        language = done.languages[0].code if done.languages else options.language
        if self._diarize and turns:
            roles = _roles(labels, turns)
            pieces = [
                Piece(p.start, p.end, p.text, roles[lb])
                for lb, p in zip(labels, turns, strict=True)
            ]
            if chunk.index == 0 and recording.chunks > 1:
                recording.speakers = await asyncio.to_thread(speaker_references, chunk.data, pieces)
        else:
            pieces = spread_sentences(done.text, 0.0, chunk.end - chunk.start)
        yield ChunkResult(pieces=pieces, language=language)


def _turn(event: TranscriptionTextSegmentEvent) -> Piece:
    try:
        return Piece(float(event.start), float(event.end), str(event.text or ""))
    except (TypeError, ValueError) as exc:
        raise PermanentEngineError(f"{PROVIDER} sent a segment we could not read.") from exc


_ROLE_NAMES = {Speaker.CLINICIAN.value, Speaker.PATIENT.value}


def _roles(labels: list[str], turns: list[Piece]) -> dict[str, Speaker]:
    """Labels as roles: known speakers' names are roles already; letters are guessed."""
    if any(label in _ROLE_NAMES for label in labels):
        return {lb: Speaker(lb) if lb in _ROLE_NAMES else Speaker.OTHER for lb in labels}
    return assign_roles([(lb, p.text) for lb, p in zip(labels, turns, strict=True)])


def speaker_references(data: bytes, pieces: list[Piece]) -> dict[str, str]:
    """A 2-10 s clip of the clinician and of the patient (their longest turns in ``data``)
    as WAV data URLs, the form ``known_speaker_references`` takes."""
    pcm = np.concatenate([*decode_blocks(io.BytesIO(data)), np.zeros(0, np.float32)])
    references: dict[str, str] = {}
    for role in (Speaker.CLINICIAN, Speaker.PATIENT):
        turns = [p for p in pieces if p.speaker == role and p.end - p.start >= _MIN_REFERENCE]
        if not turns:
            continue
        longest = max(turns, key=lambda p: p.end - p.start)
        lo = int(longest.start * SAMPLE_RATE)
        hi = min(int(longest.end * SAMPLE_RATE), lo + int(_MAX_REFERENCE * SAMPLE_RATE))
        clip = (np.clip(pcm[lo:hi], -1.0, 1.0) * 32767).astype(np.int16)
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(clip.tobytes())
        references[role.value] = (
            "data:audio/wav;base64," + base64.b64encode(out.getvalue()).decode()
        )
    return references


# OpenAI takes reference clips of 2 to 10 seconds.
_MIN_REFERENCE = 2.0
_MAX_REFERENCE = 10.0
