"""Conversions between domain values, database rows and ``consulta.v1`` messages."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from google.protobuf import any_pb2, json_format, timestamp_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from core.db.serialize import note_from_json, transcript_from_json
from core.db.views import JobView, SummaryView, TranscriptView
from core.domain import JobState, Note, Segment, Speaker, Template, Transcript

if TYPE_CHECKING:
    from core.domain import AudioWarning

STATE_TO_PB = {
    JobState.QUEUED: job_pb2.JOB_STATE_QUEUED,
    JobState.RECEIVING: job_pb2.JOB_STATE_RECEIVING,
    JobState.TRANSCRIBING: job_pb2.JOB_STATE_TRANSCRIBING,
    JobState.SUMMARIZING: job_pb2.JOB_STATE_SUMMARIZING,
    JobState.COMPLETED: job_pb2.JOB_STATE_COMPLETED,
    JobState.FAILED: job_pb2.JOB_STATE_FAILED,
    JobState.CANCELLED: job_pb2.JOB_STATE_CANCELLED,
}
STATE_FROM_PB = {v: k for k, v in STATE_TO_PB.items()}
TERMINAL_PB_STATES = frozenset(STATE_TO_PB[s] for s in JobState if s.terminal)

SPEAKER_TO_PB = {
    Speaker.UNKNOWN: job_pb2.SPEAKER_ROLE_UNSPECIFIED,
    Speaker.CLINICIAN: job_pb2.SPEAKER_ROLE_CLINICIAN,
    Speaker.PATIENT: job_pb2.SPEAKER_ROLE_PATIENT,
    Speaker.OTHER: job_pb2.SPEAKER_ROLE_OTHER,
}
_SPEAKER_FROM_PB = {v: k for k, v in SPEAKER_TO_PB.items()}

TEMPLATE_TO_PB = {
    Template.SOAP: job_pb2.NOTE_TEMPLATE_SOAP,
    Template.HISTORY_AND_PHYSICAL: job_pb2.NOTE_TEMPLATE_HISTORY_AND_PHYSICAL,
    Template.DAP: job_pb2.NOTE_TEMPLATE_DAP,
    Template.BIRP: job_pb2.NOTE_TEMPLATE_BIRP,
}
TEMPLATE_FROM_PB = {v: k for k, v in TEMPLATE_TO_PB.items()}
TEMPLATE_FROM_PB[job_pb2.NOTE_TEMPLATE_UNSPECIFIED] = Template.SOAP


_EPOCH = datetime(1970, 1, 1)


def _timestamp(value: datetime, target: timestamp_pb2.Timestamp) -> None:
    """``value`` (naive UTC; an aware one is taken as UTC, as before) into ``target``: what
    Timestamp.FromDatetime computes, without its calendar.timegm and utctimetuple (profile:
    Timestamp.FromDatetime, timegm in bench/results/profile-getjob-pg-h19-mid.txt)."""
    delta = value.replace(tzinfo=None) - _EPOCH
    target.seconds = delta.days * 86400 + delta.seconds
    target.nanos = delta.microseconds * 1000


#: ErrorInfo domain of a failed job's reason (the same as the server's errors).
ERROR_DOMAIN = "consulta.v1"


def stored_error_code(code: str, reason: str = "") -> str:
    """A failed job's code as stored: the google.rpc.Code name, then ":REASON" when there is
    a machine-readable reason (at most 32 characters in all)."""
    return f"{code}:{reason}" if reason else code


def _error_code(stored: str) -> int:
    """The google.rpc.Code a failed job's stored code stands for (INTERNAL if unknown)."""
    try:
        return int(code_pb2.Code.Value(stored.split(":")[0]))
    except ValueError:
        return int(code_pb2.INTERNAL)


def _error_status(stored: str, message: str) -> status_pb2.Status:
    status = status_pb2.Status(code=_error_code(stored), message=message)
    _, _, reason = stored.partition(":")
    if reason:
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN))
        status.details.append(info)
    return status


def config_to_json(config: job_pb2.JobConfig) -> str:
    return json_format.MessageToJson(config, indent=None)


def config_from_json(raw: str) -> job_pb2.JobConfig:
    return json_format.Parse(raw, job_pb2.JobConfig())


@functools.lru_cache(maxsize=1024)
def _config_wire(raw: str) -> bytes:
    """A stored configuration's JSON as the message's bytes: the same JSON parses to the
    same bytes, and parsing wire bytes is C while json_format.Parse is Python (profile:
    config_from_json, _Parser in bench/results/profile-getjob-pg-h19-mid.txt). Immutable
    bytes, so no caller can change another's configuration."""
    return config_from_json(raw).SerializeToString()


def warning_to_pb(warning: AudioWarning) -> job_pb2.JobWarning:
    return job_pb2.JobWarning(
        reason=job_pb2.JobWarningReason.Value(f"JOB_WARNING_REASON_{warning.reason}"),
        message=warning.message,
        seconds_kept=warning.seconds_kept,
        seconds_expected=warning.seconds_expected,
        sample_rate_hz=warning.sample_rate_hz,
    )


def warnings_to_json(warnings: Sequence[AudioWarning]) -> str:
    """Stored as the JobWarning messages' JSON, so a row reads back without conversion."""
    return json.dumps([json_format.MessageToDict(warning_to_pb(w)) for w in warnings])


def warnings_from_json(raw: str) -> list[job_pb2.JobWarning]:
    if raw in ("", "[]"):  # most jobs: no json.loads (profile: loads)
        return []
    return [json_format.ParseDict(item, job_pb2.JobWarning()) for item in json.loads(raw or "[]")]


def job_to_pb(row: JobView) -> job_pb2.Job:
    job = job_pb2.Job(
        name=f"jobs/{row.id}",
        job_id=row.id,
        state=STATE_TO_PB[JobState(row.state)],
        progress=row.progress,
        audio_size_bytes=row.audio_size,
        audio_sha256=row.audio_sha256,
        audio_duration_seconds=row.audio_duration,
        language_code=row.language,
        last_event_sequence=row.event_seq,
        warnings=warnings_from_json(row.warnings_json),
        filename=row.filename or "",
    )
    job.config.MergeFromString(_config_wire(row.config_json))
    _timestamp(row.created_at, job.create_time)
    _timestamp(row.updated_at, job.update_time)
    if row.state == JobState.FAILED.value:
        job.error.CopyFrom(_error_status(row.error_code, row.error_message))
    return job


def segment_to_pb(segment: Segment) -> job_pb2.TranscriptSegment:
    return job_pb2.TranscriptSegment(
        segment_id=segment.id,
        start_seconds=segment.start,
        end_seconds=segment.end,
        speaker=SPEAKER_TO_PB[segment.speaker],
        text=segment.text,
    )


def segment_from_pb(segment: job_pb2.TranscriptSegment) -> Segment:
    """The domain segment a segment event carried (a taken-over job keeps what was sent)."""
    return Segment(
        id=segment.segment_id,
        start=segment.start_seconds,
        end=segment.end_seconds,
        text=segment.text,
        speaker=_SPEAKER_FROM_PB.get(segment.speaker, Speaker.UNKNOWN),
    )


def transcript_to_pb(transcript: Transcript) -> job_pb2.Transcript:
    return job_pb2.Transcript(
        segments=[segment_to_pb(s) for s in transcript.segments],
        language_code=transcript.language,
        engine=transcript.engine,
    )


def transcript_row_to_domain(row: TranscriptView) -> Transcript:
    return transcript_from_json(row.segments_json, language=row.language, engine=row.engine)


def transcript_wire(row: TranscriptView) -> bytes:
    """A stored transcript as the Transcript message's wire bytes (GetTranscript)."""
    return _transcript_wire(row.segments_json, row.language, row.engine)


@functools.lru_cache(maxsize=128)
def _transcript_wire(segments_json: str, language: str, engine: str) -> bytes:
    """The same stored transcript converts to the same bytes: parsed once, not per call
    (profile: transcript_row_to_domain, transcript_from_json, transcript_to_pb). Keyed by
    content, so a read still needs the row, which a deleted job no longer has."""
    return transcript_to_pb(
        transcript_from_json(segments_json, language=language, engine=engine)
    ).SerializeToString()


def note_to_pb(note: Note) -> job_pb2.Summary:
    return job_pb2.Summary(
        template=TEMPLATE_TO_PB[note.template],
        language_code=note.language,
        sections=[
            job_pb2.NoteSection(
                key=section.key,
                title=section.title,
                sentences=[
                    job_pb2.NoteSentence(
                        text=s.text,
                        evidence_segment_ids=list(s.evidence),
                        corrections=[
                            job_pb2.TermCorrection(
                                heard=c.heard, written=c.written, source=c.source
                            )
                            for c in s.corrections
                        ],
                    )
                    for s in section.sentences
                ],
            )
            for section in note.sections
        ],
        rendered_text=note.render(),
        engine=note.engine,
    )


def summary_wire(row: SummaryView) -> bytes:
    """A stored note as the Summary message's wire bytes (GetSummary)."""
    return _summary_wire(row.sections_json, row.template, row.language, row.engine, row.rendered)


@functools.lru_cache(maxsize=128)
def _summary_wire(
    sections_json: str, template: str, language: str, engine: str, rendered: str
) -> bytes:
    """As :func:`_transcript_wire`, for notes."""
    note = note_from_json(
        sections_json, template=template, language=language, engine=engine, rendered=rendered
    )
    return note_to_pb(note).SerializeToString()


def summary_row_to_domain(row: SummaryView) -> Note:
    return note_from_json(
        row.sections_json,
        template=row.template,
        language=row.language,
        engine=row.engine,
        rendered=row.rendered,
    )


# -- events ---------------------------------------------------------------------------------


def state_event(state: JobState, reason: str = "") -> pb.JobEvent:
    return pb.JobEvent(state_changed=pb.StateChanged(state=STATE_TO_PB[state], reason=reason))


def progress_event(processed: float, total: float, text_delta: str = "") -> pb.JobEvent:
    return pb.JobEvent(
        progress=pb.TranscriptionProgress(
            processed_seconds=processed, total_seconds=total, text_delta=text_delta
        )
    )


def segment_event(segment: Segment) -> pb.JobEvent:
    return pb.JobEvent(segment=segment_to_pb(segment))


def interim_event(
    text: str, start: float, end: float, stability: float, next_segment_id: int
) -> pb.JobEvent:
    """A guess at the utterance being spoken; a later interim or the segment with
    ``next_segment_id`` replaces it."""
    return pb.JobEvent(
        interim=pb.InterimTranscript(
            text=text,
            start_seconds=start,
            end_seconds=end,
            stability=stability,
            next_segment_id=next_segment_id,
        )
    )


def note_delta_event(section_key: str, text: str) -> pb.JobEvent:
    return pb.JobEvent(note_delta=pb.NoteDelta(section_key=section_key, text=text))


def note_completed_event(note: Note) -> pb.JobEvent:
    return pb.JobEvent(note_completed=note_to_pb(note))


def is_terminal_event(event: pb.JobEvent) -> bool:
    return (
        event.WhichOneof("payload") == "state_changed"
        and event.state_changed.state in TERMINAL_PB_STATES
    )
