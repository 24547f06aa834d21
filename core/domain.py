"""The domain's plain types, shared by the server, the workers and the engines.

They are frozen dataclasses with no I/O; conversion to and from protobuf lives in
``core/codec.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class JobState(StrEnum):
    """Where a job is in its life; see ``consulta.v1.JobState``."""

    QUEUED = "queued"
    #: A live upload is still sending audio; workers transcribe what has arrived.
    RECEIVING = "receiving"
    TRANSCRIBING = "transcribing"
    SUMMARIZING = "summarizing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})
RUNNING_STATES = frozenset({JobState.TRANSCRIBING, JobState.SUMMARIZING})


class Speaker(StrEnum):
    """Who speaks in a segment; see ``consulta.v1.SpeakerRole``."""

    UNKNOWN = "unknown"
    CLINICIAN = "clinician"
    PATIENT = "patient"
    OTHER = "other"


class Template(StrEnum):
    """The kind of note to write; see ``consulta.v1.NoteTemplate``."""

    SOAP = "soap"
    HISTORY_AND_PHYSICAL = "history_and_physical"
    DAP = "dap"
    BIRP = "birp"


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of speech. ``id`` is its index in the transcript, from 0."""

    id: int
    start: float
    end: float
    text: str
    speaker: Speaker = Speaker.UNKNOWN


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said, in order."""

    segments: tuple[Segment, ...]
    language: str
    engine: str

    @property
    def text(self) -> str:
        return "\n".join(s.text for s in self.segments)


@dataclass(frozen=True, slots=True)
class TermCorrection:
    """A transcript word the note writes differently (a misheard drug name corrected)."""

    heard: str
    written: str
    source: str = "drug_lexicon"


@dataclass(frozen=True, slots=True)
class NoteSentence:
    """A sentence of a note and the ids of the transcript segments that support it."""

    text: str
    evidence: tuple[int, ...] = ()
    #: Words written differently from the transcript, each shown to the reader.
    corrections: tuple[TermCorrection, ...] = ()


@dataclass(frozen=True, slots=True)
class NoteSection:
    """One section of a note: a stable key, a heading in the note's language, sentences."""

    key: str
    title: str
    sentences: tuple[NoteSentence, ...] = ()

    def render(self) -> str:
        body = "\n".join(s.text for s in self.sentences) or "-"
        return f"{self.title.upper()}\n{body}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A clinical note: sections in template order."""

    template: Template
    language: str
    sections: tuple[NoteSection, ...]
    engine: str
    rendered: str = field(default="")

    def render(self) -> str:
        """The note as text: each section's title on its own line, then its sentences."""
        return self.rendered or "\n".join(s.render() for s in self.sections)


@dataclass(frozen=True, slots=True)
class AudioWarning:
    """One warning about a recording (core/audio_warnings.py finds them): a reason (a
    consulta.v1.JobWarningReason name without its prefix), a message for people, and the
    figures behind it."""

    reason: str
    message: str
    seconds_kept: float = 0.0
    seconds_expected: float = 0.0
    sample_rate_hz: int = 0
