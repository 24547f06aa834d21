"""The note engine's input: every sentence of a transcript as a :class:`Unit`, cleaned, with
its speaker and the segments it came from.

Its own module because it joins the two steps before it: turns.py rebuilds sentences from
ASR segments (cutting them with sentences.py), and sentences.py cleans each one.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.domain import Speaker, Transcript

from .lexicon import Lexicon
from .sentences import Unit, unit_text
from .turns import pieces_of


@dataclass(frozen=True, slots=True)
class Reply:
    """The sentence said right after a unit, as said: a bare "yes" is a reply, though
    cleaning leaves nothing of it and it is no unit."""

    speaker: Speaker
    #: The first segment it came from.
    segment: int
    said: str


def units_and_replies(
    transcript: Transcript, lexicon: Lexicon
) -> tuple[list[Unit], dict[int, Reply]]:
    """Every sentence of the transcript, cleaned, with its speaker and the segments it came
    from (turns rebuilt first: see turns.py; empty ones are kept out); and by unit index the
    sentence said right after it, kept or not."""
    units: list[Unit] = []
    replies: dict[int, Reply] = {}
    previous: int | None = None  # the unit the piece before this one became
    for piece in pieces_of(transcript, lexicon):
        if previous is not None:
            replies[previous] = Reply(piece.speaker, piece.segments[0], piece.text)
        text = unit_text(piece.text, lexicon)
        if text is None:
            previous = None
            continue
        previous = len(units)
        units.append(
            Unit(
                index=len(units),
                segment=piece.segments[0],
                speaker=piece.speaker,
                text=text,
                question=piece.question,
                segments=piece.segments,
            )
        )
    return units, replies
