"""Plain-text transcripts (CreateJob's ``transcript_text``) parsed into a :class:`Transcript`.

One turn per line, optionally prefixed by who speaks ("Doctor:", "Patient:", "Médico:",
"[doctor]" ...). ACI-Bench style inline markers (``[doctor] hi [patient] hello``) put several
turns on one line, so markers are honoured anywhere in a line, not only at its start.
Text has no times: every segment gets start = end = 0.0.
"""

from __future__ import annotations

import re

from core.domain import Segment, Speaker, Transcript
from core.errors import FieldViolation, InvalidArgument

# Prefix words (lower case, accents as written) and the speaker each one names.
_PREFIXES: dict[str, Speaker] = {
    "doctor": Speaker.CLINICIAN,
    "doctora": Speaker.CLINICIAN,
    "dr": Speaker.CLINICIAN,
    "dra": Speaker.CLINICIAN,
    "clinician": Speaker.CLINICIAN,
    "physician": Speaker.CLINICIAN,
    "médico": Speaker.CLINICIAN,
    "medico": Speaker.CLINICIAN,
    "médica": Speaker.CLINICIAN,
    "medica": Speaker.CLINICIAN,
    "patient": Speaker.PATIENT,
    "paciente": Speaker.PATIENT,
    "guest_family": Speaker.OTHER,
    "guest_clinician": Speaker.OTHER,
    "patient_guest": Speaker.OTHER,
    "family": Speaker.OTHER,
    "nurse": Speaker.OTHER,
}

_NAMES = "|".join(sorted((re.escape(p) for p in _PREFIXES), key=len, reverse=True))
# "[doctor]" anywhere in a line; "Doctor:" / "Dr.:" only at the start of a line, because a
# colon after a word mid-sentence ("the patient: ...") is ordinary prose.
_BRACKET = re.compile(rf"\[\s*({_NAMES})\s*\]", re.IGNORECASE)
_COLON = re.compile(rf"^\s*({_NAMES})\.?\s*:", re.IGNORECASE)
_WORD = re.compile(r"\w")


def _invalid(description: str) -> InvalidArgument:
    return InvalidArgument(
        f"transcript_text {description}.",
        violations=(FieldViolation("transcript_text", description),),
    )


def _split_line(line: str) -> list[tuple[Speaker, str]]:
    """The turns one line holds: (speaker, text) in order."""
    turns: list[tuple[Speaker, str]] = []
    speaker = Speaker.UNKNOWN
    colon = _COLON.match(line)
    if colon:
        speaker = _PREFIXES[colon.group(1).lower()]
        line = line[colon.end() :]
    position = 0
    for marker in _BRACKET.finditer(line):
        turns.append((speaker, line[position : marker.start()]))
        speaker = _PREFIXES[marker.group(1).lower()]
        position = marker.end()
    turns.append((speaker, line[position:]))
    return [(who, " ".join(text.split())) for who, text in turns if _WORD.search(text)]


def parse_transcript_text(text: str, *, language: str = "en", engine: str = "text") -> Transcript:
    """Parse a typed or pasted transcript; raises InvalidArgument when it holds no words."""
    if not text.strip():
        raise _invalid("must not be empty")
    turns = [turn for line in text.splitlines() for turn in _split_line(line)]
    if not turns:
        raise _invalid("must hold at least one word")
    segments = tuple(
        Segment(id=i, start=0.0, end=0.0, text=body, speaker=who)
        for i, (who, body) in enumerate(turns)
    )
    return Transcript(segments=segments, language=language, engine=engine)
