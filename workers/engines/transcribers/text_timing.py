"""Text a provider returned, with times relative to its chunk.

gpt-4o-transcribe returns text only; :func:`spread_sentences` gives it sentence-sized pieces
with times shared out by length, so evidence links in notes point near the right place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.domain import Speaker


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of text a provider returned, times relative to its chunk."""

    start: float
    end: float
    text: str
    speaker: Speaker = Speaker.UNKNOWN


def spread_sentences(text: str, start: float, end: float) -> list[Piece]:
    """Text without times as one piece a sentence, times shared out by length.

    gpt-4o-transcribe returns text only; sentence-sized segments make evidence links in notes
    useful, and times proportional to characters are close enough to find the place.
    """
    sentences = [s.strip() for s in re.split(r"(?<=[.!?¿¡…])\s+", text.strip()) if s.strip()]
    if not sentences:
        return []
    total = sum(len(s) for s in sentences)
    pieces: list[Piece] = []
    at = start
    for sentence in sentences:
        step = (end - start) * len(sentence) / total
        pieces.append(Piece(start=round(at, 3), end=round(at + step, 3), text=sentence))
        at += step
    return pieces
