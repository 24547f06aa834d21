"""Cloud transcription of long audio: split, sent in chunks with bounded concurrency, stitched.

Providers take at most 25 MB and a few tens of minutes per request. Audio under both limits
goes as it was uploaded; longer audio is cut at pauses into FLAC chunks (``splitting.py``) and
transcribed chunk by chunk. Every time a provider gives is relative to its chunk, so the
chunk's offset is added before segments leave.

:class:`ChunkedTranscriber` holds the shared loop; an adapter only says how to transcribe one
chunk (:meth:`ChunkedTranscriber.transcribe_chunk`).
"""

from __future__ import annotations

import asyncio
import tempfile
from abc import abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import av

from core.domain import Segment
from core.errors import AudioError
from workers.engines.base import (
    AudioFile,
    DetectedLanguage,
    Progress,
    TranscribeOptions,
    Transcriber,
    TranscriptionUpdate,
)
from workers.engines.errors import EngineError, PermanentEngineError
from workers.engines.transcribers.splitting import Chunk, ChunkPlan, split_audio
from workers.engines.transcribers.text_timing import Piece


class ChunkLimits(Protocol):
    """How long audio is cut and sent (the cloud engines' ``ProviderSettings`` has these)."""

    @property
    def transcribe_max_chunk_bytes(self) -> int: ...

    @property
    def transcribe_max_chunk_seconds(self) -> float: ...

    @property
    def transcribe_min_silence_seconds(self) -> float: ...

    @property
    def transcribe_concurrency(self) -> int: ...


@dataclass(slots=True)
class ChunkResult:
    """What one chunk came back as."""

    pieces: list[Piece] = field(default_factory=list)
    language: str | None = None


ChunkEvent = str | ChunkResult


@dataclass(slots=True)
class Recording:
    """What the chunks of one recording share.

    ``speakers`` holds, once the first chunk is done, reference clips of who spoke in it
    (role value -> WAV data URL), so that a diarizing engine labels later chunks the same
    way instead of starting its letters over.
    """

    chunks: int
    speakers: dict[str, str] = field(default_factory=dict)


class ChunkedTranscriber(Transcriber):
    """A cloud transcriber: splits, sends chunks concurrently, stitches segments in order.

    Interim text streams from the earliest unfinished chunk only, so WatchJob shows it in
    reading order; text of later chunks waits in memory until their turn.
    """

    def __init__(self, settings: ChunkLimits) -> None:
        self._max_bytes = settings.transcribe_max_chunk_bytes
        self._max_seconds = settings.transcribe_max_chunk_seconds
        self._min_silence = settings.transcribe_min_silence_seconds
        self._concurrency = settings.transcribe_concurrency

    #: Transcribe the first chunk before the others start, so they can use what it found
    #: (see :class:`Recording`).
    first_chunk_first = False

    @abstractmethod
    def transcribe_chunk(
        self, chunk: Chunk, options: TranscribeOptions, recording: Recording
    ) -> AsyncIterator[ChunkEvent]:
        """Yield interim text (``str``) as it comes, then one :class:`ChunkResult`."""

    async def transcribe(
        self, audio: AudioFile, options: TranscribeOptions
    ) -> AsyncIterator[TranscriptionUpdate]:
        with tempfile.TemporaryDirectory(prefix="consulta-chunks-") as folder:
            async for update in self._transcribe(audio, options, Path(folder)):
                yield update

    async def _transcribe(
        self, audio: AudioFile, options: TranscribeOptions, folder: Path
    ) -> AsyncIterator[TranscriptionUpdate]:
        try:
            chunks = await asyncio.to_thread(
                split_audio,
                audio,
                folder,
                max_bytes=self._max_bytes,
                max_seconds=self._max_seconds,
                min_silence_seconds=self._min_silence,
            )
        except (OSError, ValueError, av.error.FFmpegError, AudioError) as exc:
            raise PermanentEngineError(
                "The audio could not be read to split it for the provider."
            ) from exc
        events: asyncio.Queue[tuple[int, ChunkEvent | EngineError]] = asyncio.Queue()
        gate = asyncio.Semaphore(self._concurrency)
        recording = Recording(chunks=len(chunks))
        first_done = asyncio.Event()

        async def run(plan: ChunkPlan) -> None:
            if self.first_chunk_first and plan.index > 0:
                await first_done.wait()
            try:
                await run_gated(plan)
            finally:
                if plan.index == 0:
                    first_done.set()

        async def run_gated(plan: ChunkPlan) -> None:
            async with gate:
                # Every chunk must end in a result or an error: _stitch waits for each.
                finished = False
                try:
                    chunk = await asyncio.to_thread(plan.load)
                    async for event in self.transcribe_chunk(chunk, options, recording):
                        finished = finished or isinstance(event, ChunkResult)
                        await events.put((plan.index, event))
                    if not finished:
                        raise PermanentEngineError(
                            f"Part {plan.index + 1} of the audio came back without a result."
                        )
                except EngineError as exc:
                    await events.put((plan.index, exc))
                except Exception as exc:
                    failure = PermanentEngineError(
                        f"Part {plan.index + 1} of the audio failed in a way we did not expect "
                        f"({type(exc).__name__})."
                    )
                    await events.put((plan.index, failure))

        tasks = [asyncio.create_task(run(c)) for c in chunks]
        try:
            async for update in self._stitch(chunks, events, audio.duration):
                yield update
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _stitch(
        self,
        chunks: list[ChunkPlan],
        events: asyncio.Queue[tuple[int, ChunkEvent | EngineError]],
        total: float,
    ) -> AsyncIterator[TranscriptionUpdate]:
        pending: dict[int, list[str]] = {c.index: [] for c in chunks}
        results: dict[int, ChunkResult] = {}
        head = 0
        done_seconds = 0.0
        next_id = 0
        language_told = False
        while head < len(chunks):
            index, event = await events.get()
            if isinstance(event, EngineError):
                raise event
            if isinstance(event, str):
                pending[index].append(event)
                if index == head and event:
                    yield Progress(done_seconds, total, event)
                continue
            results[index] = event
            while head < len(chunks) and head in results:
                chunk, result = chunks[head], results.pop(head)
                if result.language and not language_told:
                    language_told = True
                    yield DetectedLanguage(result.language)
                for piece in result.pieces:
                    if not piece.text.strip():
                        continue  # providers return blank segments for silence
                    yield _segment(next_id, chunk, piece)
                    next_id += 1
                done_seconds = min(total, chunk.end)
                head += 1
                waiting = "".join(pending.get(head, []))
                yield Progress(done_seconds, total, waiting)


def _segment(segment_id: int, chunk: ChunkPlan, piece: Piece) -> Segment:
    start = chunk.start + max(0.0, piece.start)
    end = chunk.start + max(piece.start, piece.end)
    return Segment(
        id=segment_id,
        start=round(min(start, chunk.end), 3),
        end=round(min(end, chunk.end), 3),
        text=piece.text.strip(),
        speaker=piece.speaker,
    )
