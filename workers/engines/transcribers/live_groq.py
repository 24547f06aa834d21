"""Live transcription on Groq Whisper: each finished utterance is one request.

The utterance is encoded as FLAC and sent through :class:`GroqTranscriber`'s own chunk call,
so the client, the rate limiter and the retry policy (429 with retry-after, 5xx, timeouts)
are the batch adapter's.

No interim results: Groq answers whole, and guessing at the open utterance every second or
two would multiply requests by about ten against Groq's per-minute request limit, which
would then delay the finals themselves. Finals arrive about one request after the pause that
ends each utterance.
"""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt

from workers.engines.base import TranscribeOptions
from workers.engines.live import LiveSession, LiveTranscriber
from workers.engines.transcribers.chunked import ChunkResult, Recording
from workers.engines.transcribers.flac import encode_flac
from workers.engines.transcribers.groq import GroqTranscriber
from workers.engines.transcribers.live_utterances import Heard, UtteranceEngine, UtteranceSession
from workers.engines.transcribers.splitting import Chunk
from workers.engines.transcribers.utterances import SAMPLE_RATE


class GroqUtteranceEngine(UtteranceEngine):
    interim = False

    def __init__(self, groq: GroqTranscriber, options: TranscribeOptions) -> None:
        self.groq = groq
        self.options = options
        self._sent = 0

    async def transcribe(
        self, pcm: npt.NDArray[np.float32], offset: float, context: str = ""
    ) -> list[Heard]:
        data = await asyncio.to_thread(encode_flac, pcm)
        chunk = Chunk(
            index=self._sent,
            start=offset,
            end=offset + len(pcm) / SAMPLE_RATE,
            data=data,
            filename=f"utterance-{self._sent}.flac",
        )
        self._sent += 1
        heard: list[Heard] = []
        async for event in self.groq.transcribe_chunk(chunk, self.options, Recording(chunks=1)):
            if isinstance(event, ChunkResult):
                if event.language and not self.options.language:
                    self.language = self.language or event.language
                heard.extend(Heard(offset + p.start, offset + p.end, p.text) for p in event.pieces)
        return heard


class GroqLiveTranscriber(LiveTranscriber):
    """Groq Whisper live, one request per utterance.

    Utterances stay at most 15 s: with no guesses there is no agreement to settle a long
    turn's words early, so the cap is what bounds how long they wait."""

    def __init__(self, groq: GroqTranscriber, **session_settings: float) -> None:
        self.groq = groq
        self.name = groq.name
        self.session_settings = {"max_utterance_seconds": 15.0, **session_settings}

    def open_session(
        self, options: TranscribeOptions, *, start_at: float = 0.0, said: str = ""
    ) -> LiveSession:
        return UtteranceSession(
            GroqUtteranceEngine(self.groq, options), start_at, said=said, **self.session_settings
        )

    async def aclose(self) -> None:
        await self.groq.aclose()
