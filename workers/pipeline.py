"""One job's work once claimed: audio -> transcript -> note, every step recorded as events.

A job in RECEIVING (a live upload still sending) is transcribed as its audio arrives
(``live_pipeline.py``); every other job from its stored audio. Both end in the same note step.

Each write goes through :meth:`JobRun.record`, which holds only while this worker owns the
job's lease; when the job was cancelled or taken over it raises :class:`LeaseLost` and the run
stops without writing anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from consulta.v1 import transcription_service_pb2 as pb

from core.codec import (
    config_from_json,
    note_completed_event,
    note_delta_event,
    progress_event,
    segment_event,
    state_event,
    transcript_row_to_domain,
)
from core.db.models import JobRow
from core.domain import JobState, Note, Segment, Template, Transcript
from core.runtime import Runtime
from core.tracing import stage_span
from workers.engines.base import (
    AudioFile,
    DetectedLanguage,
    NoteDelta,
    NoteRequest,
    Progress,
    TranscribeOptions,
)
from workers.engines.errors import NoSpeech, PermanentEngineError
from workers.engines.registry import Engines
from workers.live_pipeline import LiveAudioOpener, open_live_audio, transcribe_live
from workers.takeover import SUMMARIZING, TRANSCRIBING, EarlierAttempt, read_earlier_attempt

#: Share of the progress bar that transcription fills; the note takes the rest.
_TRANSCRIPTION_SHARE = 0.9
#: At most one progress event per this many seconds (segments are always recorded).
_PROGRESS_EVERY = 1.0


class LeaseLost(Exception):
    """The job is no longer this worker's (cancelled, deleted or taken over)."""


class JobRun:
    def __init__(
        self,
        runtime: Runtime,
        engines: Engines,
        job: JobRow,
        worker_id: str,
        *,
        live_audio: LiveAudioOpener = open_live_audio,
    ) -> None:
        self.rt = runtime
        self.engines = engines
        self.job = job
        self.worker_id = worker_id
        self.lease = runtime.settings.lease_seconds
        self.live_audio = live_audio
        #: The job's event sequence as this worker last wrote or claimed it: with it the
        #: store writes events in one statement (core/db/one_statement.py).
        self.seq: int | None = job.event_seq

    async def record(
        self,
        events: Sequence[pb.JobEvent],
        *,
        state: JobState | None = None,
        progress: float | None = None,
        language: str | None = None,
        transcript: Transcript | None = None,
        note: Note | None = None,
    ) -> None:
        """Store events and results while this worker holds the job; LeaseLost otherwise."""
        recorded = await self.rt.store.record(
            self.job.id,
            self.worker_id,
            events,
            lease_seconds=self.lease,
            state=state,
            progress=progress,
            language=language,
            transcript=transcript,
            note=note,
            expected_seq=self.seq,
        )
        if recorded is None:
            raise LeaseLost(self.job.id)
        # The largest: a heartbeat's answer may come back after a later write's.
        if recorded.seq:
            self.seq = max(self.seq or 0, recorded.seq)
        await self.rt.publish_events(recorded)

    async def heartbeat(self) -> None:
        """Extend the lease while a long engine call runs; raises LeaseLost when cancelled."""
        while True:
            await asyncio.sleep(self.lease / 3)
            await self.record([])

    async def run(self) -> None:
        beat = asyncio.create_task(self.heartbeat())
        work = asyncio.create_task(self._work())
        try:
            done, _ = await asyncio.wait({beat, work}, return_when=asyncio.FIRST_COMPLETED)
            if beat in done:
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                beat.result()  # raises LeaseLost
            work.result()
        finally:
            beat.cancel()
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await beat

    async def _work(self) -> None:
        stored = await self.rt.store.transcript(self.job.id)
        if stored:
            transcript = transcript_row_to_domain(stored)
        elif JobState(self.job.state) is JobState.RECEIVING:
            with stage_span("transcribe_live", {"consulta.engine": self.job.transcriber}) as span:
                reader = self.live_audio(self.rt, self.job.id)
                transcript = await transcribe_live(self, reader)
                span.set_attribute("consulta.segments", len(transcript.segments))
        else:
            # One span per stage; engine names and counts only, never the text.
            with stage_span("transcribe", {"consulta.engine": self.job.transcriber}) as span:
                transcript = await self._transcribe()
                span.set_attribute("consulta.segments", len(transcript.segments))
        with stage_span("note", {"consulta.engine": self.job.summarizer}):
            await self._summarize(transcript)

    async def _transcribe(self) -> Transcript:
        job = self.job
        if not job.audio_key:
            raise PermanentEngineError("The job has neither audio nor a transcript.")
        earlier = await read_earlier_attempt(self.rt.store, job.id)
        stored = earlier.segments
        if TRANSCRIBING in earlier.announced:
            # A takeover: watchers already saw TRANSCRIBING and the stored segments.
            await self.record([], state=JobState.TRANSCRIBING)
        else:
            await self.record(
                [state_event(JobState.TRANSCRIBING)], state=JobState.TRANSCRIBING, progress=0.0
            )
        # Segments are final once sent: a taken-over job keeps the ones its earlier worker
        # recorded and continues after the last, so no segment id reaches a watcher twice.
        # The engine still hears the audio from the start (engines cannot seek); what it
        # says about the part already covered is dropped.
        resume_at = earlier.resume_at
        config = config_from_json(job.config_json)
        transcriber = self.engines.transcriber(job.transcriber)
        options = TranscribeOptions(
            language=job.language or None, vocabulary=tuple(config.engine_hints.vocabulary)
        )
        segments: list[Segment] = list(stored)
        detected = ""
        engine = transcriber.name
        last_progress = 0.0
        with tempfile.TemporaryDirectory(prefix="consulta-job-") as folder:
            path = Path(folder) / "audio"
            await self.rt.blobs.download_to(job.audio_key, path)
            audio = AudioFile(
                path=path, duration=job.audio_duration, channels=max(1, job.audio_channels)
            )
            async for update in transcriber.transcribe(audio, options):
                if isinstance(update, Segment):
                    if (update.start + update.end) / 2 < resume_at:
                        continue  # covered by a segment the earlier worker recorded
                    segment = Segment(
                        id=len(segments),
                        start=update.start,
                        end=update.end,
                        text=update.text,
                        speaker=update.speaker,
                    )
                    segments.append(segment)
                    await self.record([segment_event(segment)])
                elif isinstance(update, Progress):
                    if update.processed_seconds <= resume_at:
                        continue  # interim text of segments already final
                    now = time.monotonic()
                    if update.text_delta or now - last_progress >= _PROGRESS_EVERY:
                        last_progress = now
                        share = update.processed_seconds / max(update.total_seconds, 1e-6)
                        await self.record(
                            [
                                progress_event(
                                    update.processed_seconds,
                                    update.total_seconds,
                                    update.text_delta,
                                )
                            ],
                            progress=round(min(share, 1.0) * _TRANSCRIPTION_SHARE, 4),
                        )
                elif isinstance(update, DetectedLanguage):
                    detected = update.code
                    engine = update.engine or engine
        if not segments:
            raise NoSpeech(
                "No speech was heard in the recording (only silence, noise or tones), so there "
                "is nothing to transcribe or summarize."
            )
        language = job.language or detected or "en"
        transcript = Transcript(tuple(segments), language=language, engine=engine)
        await self.record([], transcript=transcript, language=language)
        return transcript

    async def _summarize(self, transcript: Transcript) -> None:
        job = self.job
        # A takeover while summarizing: watchers already saw SUMMARIZING and some deltas.
        earlier = EarlierAttempt()
        if JobState(job.state) is JobState.SUMMARIZING:
            earlier = await read_earlier_attempt(self.rt.store, job.id)
        await self.record(
            [] if SUMMARIZING in earlier.announced else [state_event(JobState.SUMMARIZING)],
            state=JobState.SUMMARIZING,
            progress=_TRANSCRIPTION_SHARE,
        )
        summarizer = self.engines.summarizer(job.summarizer)
        request = NoteRequest(
            template=Template(job.template), language=job.language or transcript.language
        )
        note: Note | None = None
        async for update in summarizer.summarize(transcript, request):
            if isinstance(update, NoteDelta):
                if text := earlier.unsent(update.section_key, update.text):
                    await self.record([note_delta_event(update.section_key, text)])
            else:
                note = update
        if note is None:
            raise PermanentEngineError(f"The note engine {summarizer.name} wrote no note.")
        # Saving the result must not be cut in half by a shutdown.
        await asyncio.shield(
            self.record(
                [note_completed_event(note), state_event(JobState.COMPLETED)],
                state=JobState.COMPLETED,
                progress=1.0,
                note=note,
            )
        )
