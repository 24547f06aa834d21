"""Where eval's notes come from: a writer takes a dialogue and returns the note's text."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from core.transcript_text import parse_transcript_text
from eval.template import EVAL_TEMPLATE
from workers.engines.base import NoteRequest
from workers.engines.notes.local import write_note


@runtime_checkable
class NoteWriter(Protocol):
    """Writes the note of one dialogue (ACI-Bench text with [doctor]/[patient] markers)."""

    async def write(self, dialogue: str, language: str) -> str: ...


class DirectWriter:
    """The local engine in-process: parse_transcript_text then write_note. For tuning."""

    async def write(self, dialogue: str, language: str) -> str:
        transcript = parse_transcript_text(dialogue, language=language)
        return write_note(transcript, NoteRequest(EVAL_TEMPLATE, language)).render()


def make_writer(kind: str) -> NoteWriter:
    """``direct`` or ``product`` (the real server through the client, imported lazily)."""
    if kind == "direct":
        return DirectWriter()
    if kind == "product":
        from eval.product_writer import ProductWriter  # type: ignore[import-not-found,unused-ignore]

        writer: NoteWriter = ProductWriter()
        return writer
    raise ValueError(f"unknown writer {kind!r}: use direct or product")
