"""The note engine's input: every sentence of a transcript as a :class:`Unit`, cleaned, with
its speaker and the segments it came from.

Its own module because it joins the two steps before it: turns.py rebuilds sentences from
ASR segments (cutting them with sentences.py), and sentences.py cleans each one.
"""

from __future__ import annotations

from core.domain import Transcript

from .lexicon import Lexicon
from .sentences import Unit, unit_text
from .turns import pieces_of


def units_of(transcript: Transcript, lexicon: Lexicon) -> list[Unit]:
    """Every sentence of the transcript, cleaned, with its speaker and the segments it came
    from (turns rebuilt first: see turns.py); empty ones are kept out."""
    units: list[Unit] = []
    for piece in pieces_of(transcript, lexicon):
        text = unit_text(piece.text, lexicon)
        if text is None:
            continue
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
    return units
