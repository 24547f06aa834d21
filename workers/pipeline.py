"""One job's work once claimed: audio -> transcript -> note, every step recorded as events.

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
from workers.engines.errors import PermanentEngineError
from workers.engines.registry import Engines

#: Share of the progress bar that transcription fills; the note takes the rest.
_TRANSCRIPTION_SHARE = 0.9
#: At most one progress event per this many seconds (segments are always recorded).
_PROGRESS_EVERY = 1.0


class LeaseLost(Exception):
    """The job is no longer this worker's (cancelled, deleted or taken over)."""


class JobRun:
    def __init__(self, runtime: Runtime, engines: Engines, job: JobRow, worker_id: str) -> None:
        self.rt = runtime
        self.engines = engines
        self.job = job
        self.worker_id = worker_id
        self.lease = runtime.settings.lease_seconds

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
        )
        if recorded is None:
            raise LeaseLost(self.job.id)
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
        await self.record(
            [state_event(JobState.TRANSCRIBING)], state=JobState.TRANSCRIBING, progress=0.0
        )
        config = config_from_json(job.config_json)
        transcriber = self.engines.transcriber(job.transcriber)
        options = TranscribeOptions(
            language=job.language or None, vocabulary=tuple(config.engine_hints.vocabulary)
        )
        segments: list[Segment] = []
        detected = ""
        last_progress = 0.0
        with tempfile.TemporaryDirectory(prefix="consulta-job-") as folder:
            path = Path(folder) / "audio"
            await self.rt.blobs.download_to(job.audio_key, path)
            audio = AudioFile(
                path=path, duration=job.audio_duration, channels=max(1, job.audio_channels)
            )
            async for update in transcriber.transcribe(audio, options):
                if isinstance(update, Segment):
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
        if not segments:
            raise PermanentEngineError("No speech was heard in the audio.")
        language = job.language or detected or "en"
        transcript = Transcript(tuple(segments), language=language, engine=transcriber.name)
        await self.record([], transcript=transcript, language=language)
        return transcript

    async def _summarize(self, transcript: Transcript) -> None:
        job = self.job
        await self.record(
            [state_event(JobState.SUMMARIZING)],
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
                await self.record([note_delta_event(update.section_key, update.text)])
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
