"""Long audio split at silences, sent in chunks with bounded concurrency, stitched back.

Providers take at most 25 MB and a few tens of minutes per request. Audio under both limits
goes as it was uploaded; longer audio is decoded to 16 kHz mono, cut at the quietest moment
near each limit (an energy-based splitter: speech is rarely cut mid-word), re-encoded as FLAC
and transcribed chunk by chunk. Every time a provider gives is relative to its chunk, so the
chunk's offset is added before segments leave.

:class:`ChunkedTranscriber` holds the shared loop; an adapter only says how to transcribe one
chunk (:meth:`ChunkedTranscriber.transcribe_chunk`).
"""

from __future__ import annotations

import asyncio
import io
import re
import tempfile
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from core.domain import Segment, Speaker
from core.errors import AudioError
from workers.engines.base import (
    AudioFile,
    DetectedLanguage,
    Progress,
    TranscribeOptions,
    Transcriber,
    TranscriptionUpdate,
)
from workers.engines.cloud.settings import ProviderSettings
from workers.engines.errors import EngineError, PermanentEngineError

SAMPLE_RATE = 16000
_FRAME_SECONDS = 0.03
# Upper bound of 16 kHz mono 16-bit audio per second: FLAC is smaller, never larger.
_BYTES_PER_SECOND = SAMPLE_RATE * 2
# Formats the providers accept as uploaded, by file suffix.
_PASSTHROUGH_SUFFIXES = {".flac", ".mp3", ".mp4", ".m4a", ".mpeg", ".mpga", ".ogg", ".wav", ".webm"}


@dataclass(frozen=True, slots=True)
class Chunk:
    """One request's worth of audio: its bytes and where it sits in the recording."""

    index: int
    start: float
    end: float
    data: bytes
    filename: str


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """A chunk not yet encoded: encoding waits for a free request slot, so at most
    ``concurrency`` chunks' bytes are in memory at once."""

    index: int
    start: float
    end: float
    filename: str
    encode: Callable[[], bytes]

    def load(self) -> Chunk:
        return Chunk(self.index, self.start, self.end, self.encode(), self.filename)


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of text a provider returned, times relative to its chunk."""

    start: float
    end: float
    text: str
    speaker: Speaker = Speaker.UNKNOWN


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


def plan_cuts(
    pcm: npt.NDArray[np.float32],
    sample_rate: int,
    max_seconds: float,
    min_silence_seconds: float = 0.3,
) -> list[tuple[int, int]]:
    """Sample ranges of at most ``max_seconds``, cut at the quietest stretch near each limit.

    The quietest stretch is the window of ``min_silence_seconds`` with the lowest mean energy
    in the second half of the allowed span, so a chunk is never shorter than half the limit
    (which bounds the number of requests) and a cut lands in a pause when there is one.
    """
    total = len(pcm)
    limit = max(1, int(max_seconds * sample_rate))
    if total <= limit:
        return [(0, total)]
    frame = max(1, int(_FRAME_SECONDS * sample_rate))
    usable = total - total % frame
    energy = np.square(pcm[:usable].reshape(-1, frame)).mean(axis=1)
    window = max(1, round(min_silence_seconds / _FRAME_SECONDS))
    smooth = np.convolve(energy, np.ones(window) / window, mode="same")
    cuts: list[tuple[int, int]] = []
    start = 0
    while total - start > limit:
        lo = (start + limit // 2) // frame
        hi = max(lo + 1, (start + limit) // frame)
        quietest = lo + int(np.argmin(smooth[lo:hi]))
        cut = quietest * frame + frame // 2
        cut = min(max(cut, start + 1), start + limit)
        cuts.append((start, cut))
        start = cut
    cuts.append((start, total))
    return cuts


class FlacWriter:
    """Writes mono float PCM to a 16-bit FLAC file (or file object) as it arrives."""

    def __init__(self, target: str | io.BytesIO, sample_rate: int = SAMPLE_RATE) -> None:
        self._container = av.open(target, mode="w", format="flac")
        self._stream = self._container.add_stream("flac", rate=sample_rate, layout="mono")
        self._rate = sample_rate
        self._written = 0

    def write(self, pcm: npt.NDArray[np.float32]) -> None:
        samples = (np.clip(pcm, -1.0, 1.0) * 32767).astype(np.int16)
        step = self._rate  # one second a frame keeps memory per frame small
        for i in range(0, len(samples), step):
            piece = np.ascontiguousarray(samples[i : i + step]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(piece, format="s16", layout="mono")
            frame.sample_rate = self._rate
            frame.pts = self._written
            self._written += piece.shape[1]
            for packet in self._stream.encode(frame):
                self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()


def encode_flac(pcm: npt.NDArray[np.float32], sample_rate: int = SAMPLE_RATE) -> bytes:
    """Mono float PCM as a FLAC file in memory (lossless, about half the size of WAV)."""
    out = io.BytesIO()
    writer = FlacWriter(out, sample_rate)
    writer.write(pcm)
    writer.close()
    return out.getvalue()


def decoded_blocks(
    source: Path | io.BytesIO, *, mono: bool = True
) -> Iterator[npt.NDArray[np.float32]]:
    """The audio at 16 kHz, block by block as the decoder yields it: shape (n,) when
    ``mono``, else (channels, n). Memory stays one block deep."""
    with av.open(str(source) if isinstance(source, Path) else source, mode="r") as container:
        stream = container.streams.audio[0]
        layout = "mono" if mono else stream.layout.name
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                block = out.to_ndarray().astype(np.float32, copy=False)
                yield block[0] if mono else block
        for out in resampler.resample(None):
            block = out.to_ndarray().astype(np.float32, copy=False)
            yield block[0] if mono else block


def spread_sentences(text: str, start: float, end: float) -> list[Piece]:
    """Text without times as one piece a sentence, times shared out by length.

    gpt-4o-transcribe returns text only; sentence-sized segments make evidence links in notes
    useful, and times proportional to characters are close enough to find the place.
    """
    sentences = [s.strip() for s in re.split(r"(?<=[.!?¿¡…])\s+", text.strip()) if s.strip()]
    if not sentences:
        return []
    total = sum(len(s) for s in sentences)
    pieces: list[Piece] = []
    at = start
    for sentence in sentences:
        step = (end - start) * len(sentence) / total
        pieces.append(Piece(start=round(at, 3), end=round(at + step, 3), text=sentence))
        at += step
    return pieces


def split_audio(
    audio: AudioFile,
    folder: Path,
    *,
    max_bytes: int,
    max_seconds: float,
    min_silence_seconds: float,
) -> list[ChunkPlan]:
    """The requests ``audio`` needs: the file as is when it fits, else FLAC chunks in
    ``folder``.

    One decoding pass; memory holds at most one chunk of PCM (about 50 MB at the 25 MB
    limit), whatever the recording's length. Chunk files are read back one request slot at
    a time.
    """
    size = audio.path.stat().st_size
    suffix = audio.path.suffix.lower()
    if size <= max_bytes and audio.duration <= max_seconds and suffix in _PASSTHROUGH_SUFFIXES:
        return [ChunkPlan(0, 0.0, audio.duration, audio.path.name, audio.path.read_bytes)]
    longest = min(max_seconds, max_bytes / _BYTES_PER_SECOND)
    plans: list[ChunkPlan] = []
    for start, pcm in pcm_windows(audio.path, longest, min_silence_seconds):
        index = len(plans)
        path = folder / f"chunk{index:04d}.flac"
        writer = FlacWriter(str(path))
        writer.write(pcm)
        writer.close()
        end = start + len(pcm)
        plans.append(
            ChunkPlan(index, start / SAMPLE_RATE, end / SAMPLE_RATE, path.name, path.read_bytes)
        )
    return plans


def pcm_windows(
    path: Path, max_seconds: float, min_silence_seconds: float
) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    """The recording at 16 kHz mono as (first sample, PCM) windows of at most
    ``max_seconds``, each cut at a pause (see :func:`plan_cuts`), in one decoding pass.

    Memory holds one window and one decoder block, whatever the recording's length. Yields
    at least one window (empty for audio with no samples).
    """
    limit = int(max_seconds * SAMPLE_RATE)
    start = 0
    sent = False
    pieces: list[npt.NDArray[np.float32]] = []
    held = 0
    for block in decoded_blocks(path):
        pieces.append(block)
        held += len(block)
        while held > limit:
            buffer = np.concatenate(pieces)
            cut = plan_cuts(buffer, SAMPLE_RATE, max_seconds, min_silence_seconds)[0][1]
            yield start, buffer[:cut]
            sent = True
            start += cut
            pieces, held = [buffer[cut:]], len(buffer) - cut
    if held or not sent:
        yield start, np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


class ChunkedTranscriber(Transcriber):
    """A cloud transcriber: splits, sends chunks concurrently, stitches segments in order.

    Interim text streams from the earliest unfinished chunk only, so WatchJob shows it in
    reading order; text of later chunks waits in memory until their turn.
    """

    def __init__(self, settings: ProviderSettings) -> None:
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
