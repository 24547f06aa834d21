"""Small helpers the note engine's tests share: a note from a written consultation, and the
text of one of its sections."""

from __future__ import annotations

from core.domain import Note, Template
from core.transcript_text import parse_transcript_text
from workers.engines.base import NoteRequest
from workers.engines.notes.local import write_note


def note_of(
    text: str, template: Template = Template.HISTORY_AND_PHYSICAL, lang: str = "en"
) -> Note:
    """The local engine's note of ``text`` ("Doctor: ..." / "Patient: ..." lines)."""
    return write_note(parse_transcript_text(text, language=lang), NoteRequest(template, lang))


def section_of(note: Note, key: str) -> str:
    """The sentences of ``note``'s section ``key``, joined by spaces."""
    return " ".join(s.text for sec in note.sections if sec.key == key for s in sec.sentences)
