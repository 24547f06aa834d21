"""What a worker taking over a job needs from its predecessor's events, so that nothing a
watcher already has is sent again.

Segments are final (the proto says so) and note deltas are printed as they arrive (``consulta
transcribe --follow``): resending either would show it twice. The job's event log says what
was sent; the new worker keeps those segments and skips the note text already sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from core.codec import segment_from_pb
from core.db.store import JobStore
from core.domain import Segment

#: Events read from the log per query.
_PAGE = 500


@dataclass
class EarlierAttempt:
    """What earlier workers of a job sent to watchers."""

    announced: set[int] = field(default_factory=set)
    """States (``consulta.v1.JobState`` values) already announced by a state event."""
    segments: list[Segment] = field(default_factory=list)
    """Segments sent, in order of their ids."""
    note_text: dict[str, str] = field(default_factory=dict)
    """Per note section, the text its deltas carried, joined."""

    @property
    def resume_at(self) -> float:
        """Seconds of audio the sent segments cover."""
        return self.segments[-1].end if self.segments else 0.0

    def unsent(self, section_key: str, text: str) -> str:
        """The part of a new note delta that was not sent already.

        A deterministic engine writes the same text again: it is swallowed until the new text
        passes what was sent. An engine that writes something else this time gets it sent (it
        cannot be unsaid), and the final note is what the job keeps.
        """
        before = self.note_text.get(section_key, "")
        if not before:
            return text
        if before.startswith(text):
            self.note_text[section_key] = before[len(text) :]
            return ""
        self.note_text[section_key] = ""
        return text[len(before) :] if text.startswith(before) else text


async def read_earlier_attempt(store: JobStore, job_id: str) -> EarlierAttempt:
    """Walk the job's event log once."""
    earlier, after = EarlierAttempt(), 0
    while True:
        rows = await store.events_after(job_id, after, limit=_PAGE)
        for row in rows:
            event = pb.JobEvent.FromString(row.payload)
            after = event.sequence
            kind = event.WhichOneof("payload")
            if kind == "segment":
                earlier.segments.append(segment_from_pb(event.segment))
            elif kind == "state_changed":
                earlier.announced.add(event.state_changed.state)
            elif kind == "note_delta":
                key = event.note_delta.section_key
                earlier.note_text[key] = earlier.note_text.get(key, "") + event.note_delta.text
        if len(rows) < _PAGE:
            return earlier


TRANSCRIBING = job_pb2.JOB_STATE_TRANSCRIBING
SUMMARIZING = job_pb2.JOB_STATE_SUMMARIZING
