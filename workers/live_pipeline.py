"""A live job's transcription: the audio is read while the upload still commits it.

Three tasks run side by side until the upload is finished and its tail transcribed:

- the reader polls :class:`LiveAudioReader` for committed bytes (every ``poll_seconds`` when
  nothing is new) and feeds them to a :class:`~core.audio_stream.StreamDecoder`;
- the pusher hands the decoded samples to the engine's :class:`LiveSession`; once the upload
  is finished and decoded it records TRANSCRIBING and tells the session to finish;
- the recorder stores each interim result as an ``interim`` event and each final one as a
  ``segment`` event, through :meth:`JobRun.record` (so only while this worker holds the
  job's lease).

Takeover: segments are final once sent. A worker that claims a RECEIVING job with segments
already stored starts its session at the last one's end, skips the samples before it, and
numbers its segments after them, so no segment is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from consulta.v1 import transcription_service_pb2 as pb

from core.audio_stream import StreamDecoder
from core.codec import config_from_json, interim_event, segment_event, state_event
from core.db.models import JobRow
from core.domain import JobState, Note, Segment, Transcript
from core.live_audio import LiveAudioReader as CommittedLiveAudio
from core.runtime import Runtime
from workers.engines.base import TranscribeOptions
from workers.engines.errors import NoSpeech
from workers.engines.live import LIVE_SAMPLE_RATE, LiveSession
from workers.engines.registry import Engines
from workers.takeover import read_earlier_attempt


class JobRun(Protocol):
    """What the live path needs of the job's run (workers.pipeline.JobRun has it), named
    here so that this module does not import the pipeline that imports it."""

    rt: Runtime
    engines: Engines
    job: JobRow

    async def record(
        self,
        events: Sequence[pb.JobEvent],
        *,
        state: JobState | None = None,
        progress: float | None = None,
        language: str | None = None,
        transcript: Transcript | None = None,
        note: Note | None = None,
    ) -> None: ...


#: Seconds between reads while the upload has nothing new.
POLL_SECONDS = 0.25
#: Undecoded bytes held at most: past them the reader waits for the decoder (and, through
#: it, the engine), so memory stays bounded when the upload outruns transcription.
MAX_UNDECODED_BYTES = 1 << 20


class LiveAudioReader(Protocol):
    """A live job's audio as the upload commits it (the server side implements it)."""

    async def read(self, offset: int, max_bytes: int = 1 << 20) -> tuple[bytes, bool]:
        """Committed bytes from offset (empty when none yet) and whether the upload is finished."""
        ...


#: Opens the reader of a job's live audio.
LiveAudioOpener = Callable[[Runtime, str], LiveAudioReader]


def open_live_audio(runtime: Runtime, job_id: str) -> LiveAudioReader:
    """The server's reader of committed live audio (``core.live_audio``)."""
    return CommittedLiveAudio(runtime, job_id)


async def transcribe_live(
    run: JobRun, reader: LiveAudioReader, *, poll_seconds: float = POLL_SECONDS
) -> Transcript:
    """Follow the upload to its end; the transcript is stored and returned."""
    job = run.job
    earlier = await read_earlier_attempt(run.rt.store, job.id)
    segments: list[Segment] = list(earlier.segments)
    resume_at = earlier.resume_at
    config = config_from_json(job.config_json)
    options = TranscribeOptions(
        language=job.language or None, vocabulary=tuple(config.engine_hints.vocabulary)
    )
    transcriber = run.engines.live_transcriber(job.transcriber)
    session = transcriber.open_session(
        options, start_at=resume_at, said=" ".join(s.text for s in segments)
    )
    decoder = StreamDecoder(sample_rate=LIVE_SAMPLE_RATE)
    try:
        await _all(
            _read(reader, decoder, poll_seconds),
            _push(run, decoder, session, skip=round(resume_at * LIVE_SAMPLE_RATE)),
            _record(run, session, segments, resume_at),
        )
    finally:
        await session.aclose()
        await decoder.aclose()
    if not segments:
        raise NoSpeech(
            "No speech was heard in the recording (only silence, noise or tones), so there "
            "is nothing to transcribe or summarize."
        )
    detected: str | None = getattr(session, "language", None)
    language = job.language or detected or "en"
    engine: str = getattr(session, "model_name", "") or transcriber.name
    transcript = Transcript(tuple(segments), language=language, engine=engine)
    await run.record([], transcript=transcript, language=language)
    return transcript


async def _all(*steps: Coroutine[Any, Any, None]) -> None:
    """Run the steps together; the first failure cancels the rest and is raised as is."""
    tasks = [asyncio.create_task(step) for step in steps]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _read(reader: LiveAudioReader, decoder: StreamDecoder, poll_seconds: float) -> None:
    offset = 0
    while True:
        if decoder.buffered_bytes >= MAX_UNDECODED_BYTES:
            await asyncio.sleep(poll_seconds)
            continue
        data, finished = await reader.read(offset)
        if data:
            decoder.feed(data)
            offset += len(data)
        elif finished:
            break
        else:
            await asyncio.sleep(poll_seconds)
    decoder.close()


async def _push(run: JobRun, decoder: StreamDecoder, session: LiveSession, *, skip: int) -> None:
    async for block in decoder.blocks():
        if skip:
            dropped = min(skip, len(block))
            block, skip = block[dropped:], skip - dropped
        if len(block):
            await session.push(block)
    # The upload is over: what is left is the tail after the last finished utterance.
    await run.record([state_event(JobState.TRANSCRIBING)], state=JobState.TRANSCRIBING)
    await session.finish()


async def _record(
    run: JobRun, session: LiveSession, segments: list[Segment], resume_at: float
) -> None:
    async for result in session.results():
        if not result.final:
            event = interim_event(
                result.text, result.start, result.end, result.stability, len(segments)
            )
            await run.record([event])
            continue
        if (result.start + result.end) / 2 < resume_at:
            continue  # covered by a segment an earlier worker recorded
        segment = Segment(
            id=len(segments),
            start=result.start,
            end=result.end,
            text=result.text,
            speaker=result.speaker,
        )
        segments.append(segment)
        await run.record([segment_event(segment)])
