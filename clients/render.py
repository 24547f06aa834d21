"""How the CLI shows jobs, transcripts, notes and watch events to a person, or as JSON lines.

Text goes to stdout only when it is the product (transcript lines, the note, tables, ids);
what happens along the way (state changes, failures) goes to stderr, so that
``consulta note < visit.txt > note.txt`` writes just the note.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC
from typing import IO, cast

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from google.protobuf import json_format, timestamp_pb2
from google.protobuf.message import Message
from rich.console import Console
from rich.table import Table

from clients.progress import TranscriptionBar, clock

TEMPLATES = {
    "soap": job_pb2.NOTE_TEMPLATE_SOAP,
    "history_and_physical": job_pb2.NOTE_TEMPLATE_HISTORY_AND_PHYSICAL,
    "dap": job_pb2.NOTE_TEMPLATE_DAP,
    "birp": job_pb2.NOTE_TEMPLATE_BIRP,
}
STATES = {
    "queued": job_pb2.JOB_STATE_QUEUED,
    "transcribing": job_pb2.JOB_STATE_TRANSCRIBING,
    "summarizing": job_pb2.JOB_STATE_SUMMARIZING,
    "completed": job_pb2.JOB_STATE_COMPLETED,
    "failed": job_pb2.JOB_STATE_FAILED,
    "cancelled": job_pb2.JOB_STATE_CANCELLED,
}
SPEAKERS = {
    job_pb2.SPEAKER_ROLE_CLINICIAN: "Clinician",
    job_pb2.SPEAKER_ROLE_PATIENT: "Patient",
    job_pb2.SPEAKER_ROLE_OTHER: "Other",
}
#: Speaker labels in the transcript's language, by primary language subtag; English otherwise.
SPEAKERS_BY_LANGUAGE = {
    "en": SPEAKERS,
    "es": {
        job_pb2.SPEAKER_ROLE_CLINICIAN: "Médico",
        job_pb2.SPEAKER_ROLE_PATIENT: "Paciente",
        job_pb2.SPEAKER_ROLE_OTHER: "Otro",
    },
}


def speakers_for(language: str) -> dict[job_pb2.SpeakerRole.ValueType, str]:
    return SPEAKERS_BY_LANGUAGE.get(language.split("-")[0].lower(), SPEAKERS)


def state_name(state: int) -> str:
    """ "completed" for JOB_STATE_COMPLETED."""
    name = job_pb2.JobState.Name(state)  # type: ignore[arg-type]
    return name.removeprefix("JOB_STATE_").lower()


def template_name(template: int) -> str:
    if template == job_pb2.NOTE_TEMPLATE_UNSPECIFIED:
        return "soap"
    name = job_pb2.NoteTemplate.Name(template)  # type: ignore[arg-type]
    return name.removeprefix("NOTE_TEMPLATE_").lower()


def timestamp(ts: timestamp_pb2.Timestamp) -> str:
    if ts.seconds == 0 and ts.nanos == 0:
        return ""
    return ts.ToDatetime(tzinfo=UTC).isoformat(timespec="seconds")


def segment_line(
    segment: job_pb2.TranscriptSegment, *, language: str = "", timed: bool = True
) -> str:
    """One transcript line: times (not for a text transcript, which has none), the speaker
    in the transcript's language, and the text."""
    speaker = speakers_for(language).get(segment.speaker)
    who = f"{speaker}: " if speaker else ""
    if not timed:
        return f"{who}{segment.text}"
    span = f"[{clock(segment.start_seconds)} - {clock(segment.end_seconds)}]"
    return f"{span} {who}{segment.text}"


def is_timed(transcript: job_pb2.Transcript) -> bool:
    """False for a transcript made from text: every segment has zero times."""
    return any(s.start_seconds or s.end_seconds for s in transcript.segments)


def note_text(summary: job_pb2.Summary) -> str:
    """The rendered note, or one built from its sections when the server sent none."""
    if summary.rendered_text:
        return summary.rendered_text.rstrip("\n") + "\n"
    lines: list[str] = []
    for section in summary.sections:
        lines.append(section.title or section.key)
        lines.extend(sentence.text for sentence in section.sentences)
    return "\n".join(lines) + "\n"


def to_dict(message: Message) -> dict[str, object]:
    """The message as JSON-ready data. Zero values are kept (segment 0 has a segment_id and a
    start), and floats are rounded to milliseconds: float32 fields and sums otherwise print
    as 12.700000000000001."""
    data = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return cast(dict[str, object], _round_floats(data))


def _round_floats(value: object) -> object:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _round_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round_floats(v) for v in value]
    return value


def json_line(message: Message | dict[str, object]) -> str:
    data = message if isinstance(message, dict) else to_dict(message)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def jobs_table(jobs: list[job_pb2.Job]) -> Table:
    table = Table(box=None, pad_edge=False)
    table.add_column("JOB ID", no_wrap=True, min_width=36)
    table.add_column("STATE", no_wrap=True)
    table.add_column("TEMPLATE", no_wrap=True)
    table.add_column("LANG", no_wrap=True)
    table.add_column("CREATED", no_wrap=True)
    table.add_column("FILE", no_wrap=False, max_width=32)
    table.add_column("DURATION", justify="right", no_wrap=True)
    table.add_column("AUDIO", justify="right", no_wrap=True)
    for job in jobs:
        table.add_row(
            job.job_id,
            state_name(job.state),
            template_name(job.config.template),
            job.language_code or job.config.language_code,
            timestamp(job.create_time),
            job.filename or ("" if job.audio_size_bytes else "(text)"),
            clock(job.audio_duration_seconds) if job.audio_duration_seconds else "",
            human_bytes(job.audio_size_bytes) if job.audio_size_bytes else "text",
        )
    return table


def warning_line(warning: job_pb2.JobWarning) -> str:
    reason = job_pb2.JobWarningReason.Name(warning.reason).removeprefix("JOB_WARNING_REASON_")
    return f"{warning.message} [{reason}]"


def job_table(job: job_pb2.Job) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    rows = [
        ("job", job.job_id),
        *([("file", job.filename)] if job.filename else []),
        ("state", state_name(job.state)),
        ("progress", f"{job.progress:.0%}"),
        ("template", template_name(job.config.template)),
        ("language", job.language_code or job.config.language_code),
        ("created", timestamp(job.create_time)),
        ("updated", timestamp(job.update_time)),
    ]
    if job.audio_size_bytes:
        rows.append(("audio", f"{human_bytes(job.audio_size_bytes)} sha256 {job.audio_sha256}"))
    if job.audio_duration_seconds:
        rows.append(("duration", clock(job.audio_duration_seconds)))
    if job.config.encounter.external_encounter_id:
        rows.append(("encounter", job.config.encounter.external_encounter_id))
    if job.config.idempotency_key:
        rows.append(("idempotency key", job.config.idempotency_key))
    rows.extend(("warning", warning_line(w)) for w in job.warnings)
    if job.HasField("error") and job.error.message:
        rows.append(("error", job.error.message))
    if job.audio_download_url:
        rows.append(("audio url", job.audio_download_url))
    for key, value in rows:
        table.add_row(key, value)
    return table


def _seconds(ts: timestamp_pb2.Timestamp) -> float | None:
    """A timestamp as epoch seconds; None when unset."""
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.seconds + ts.nanos / 1e9


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


class FollowPrinter:
    """Prints a WatchJob stream as it arrives: transcript lines and the note on stdout,
    states on stderr; or every message as a JSON line on stdout."""

    def __init__(self, out: IO[str] | None, err: Console, *, as_json: bool) -> None:
        self._stdout = out
        self._err = err
        self._json = as_json
        self._language = ""
        self._timed = True
        self._bar: TranscriptionBar | None = None
        self._transcribing_since: float | None = None
        self._note_open = False
        self._note_shown = False
        self._note_ends_line = True
        self.state = job_pb2.JOB_STATE_UNSPECIFIED
        self.reason = ""
        self.summary: job_pb2.Summary | None = None

    def show(self, message: pb.WatchJobResponse) -> None:
        self.track(message)
        if self._json:
            self._out.write(json_line(message) + "\n")
            self._out.flush()
            return
        if message.HasField("snapshot"):
            job = message.snapshot
            self.use_job(job)
            self._err.print(f"[dim]watching job {job.job_id} ({state_name(job.state)})[/]")
            return
        event = message.event
        kind = event.WhichOneof("payload")
        if kind != "progress":
            self._stop_bar()
        if kind == "progress":
            if self._bar is None:
                self._bar = TranscriptionBar(self._err)
            self._bar.update(
                event.progress.processed_seconds,
                event.progress.total_seconds,
                at=_seconds(event.create_time),
                since=self._transcribing_since,
            )
        elif kind == "state_changed":
            if event.state_changed.state == job_pb2.JOB_STATE_TRANSCRIBING:
                self._transcribing_since = _seconds(event.create_time)
            self._close_note()
            reason = f": {event.state_changed.reason}" if event.state_changed.reason else ""
            self._err.print(f"[bold]{state_name(event.state_changed.state)}[/]{reason}")
        elif kind == "segment":
            line = segment_line(event.segment, language=self._language, timed=self._timed)
            self._out.write(line + "\n")
        elif kind == "note_delta":
            if not self._note_open:
                self._out.write("\n")
                self._note_open = True
            self._out.write(event.note_delta.text)
            self._note_shown = True
            if event.note_delta.text:
                self._note_ends_line = event.note_delta.text.endswith("\n")
        elif kind == "note_completed" and not self._note_shown:
            # No deltas came (a note engine that does not stream): show the note whole.
            self._out.write("\n" + note_text(event.note_completed))
            self._note_shown = True
        self._out.flush()

    def use_job(self, job: job_pb2.Job) -> None:
        """Speaker labels in the job's language, and times unless it was made from text."""
        self._language = job.language_code or job.config.language_code
        # A job made from text has no audio and its segments no times; a live job's audio
        # size grows while it is received.
        self._timed = job.audio_size_bytes > 0 or job.state == job_pb2.JOB_STATE_RECEIVING

    @property
    def _out(self) -> IO[str]:
        # Looked up on each write when not given, so that a progress bar that redirects
        # stdout (to print lines above itself) sees them.
        return self._stdout if self._stdout is not None else sys.stdout

    def _stop_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        """Stop the progress bar, if one is showing."""
        self._stop_bar()

    def _close_note(self) -> None:
        if self._note_open and not self._note_ends_line:
            self._out.write("\n")
        self._note_open = False

    def track(self, message: pb.WatchJobResponse) -> None:
        """Note the job's state, failure reason and note without printing anything."""
        if message.HasField("snapshot"):
            self.state = message.snapshot.state
            self.reason = message.snapshot.error.message
            return
        event = message.event
        if event.HasField("state_changed"):
            self.state = event.state_changed.state
            self.reason = event.state_changed.reason or self.reason
        elif event.HasField("note_completed"):
            self.summary = event.note_completed
