"""Role accuracy of a transcript heard from synthesized audio: the share of its words whose
sentence got the role of the turn that was playing when it was said."""

from __future__ import annotations

from dataclasses import dataclass

from core.domain import Speaker, Transcript
from workers.engines.notes.local.languages import lexicon_for
from workers.engines.notes.local.turns import pieces_of


@dataclass(frozen=True, slots=True)
class Turn:
    """A turn of the synthesized audio: who spoke and when."""

    speaker: Speaker
    start: float
    end: float


def role_hits(transcript: Transcript, turns: list[Turn]) -> tuple[int, int]:
    """Words given the right role, and words, over the note engine's sentences."""
    by_id = {s.id: s for s in transcript.segments}
    right = words = 0
    for piece in pieces_of(transcript, lexicon_for(transcript.language or "en")):
        first, last = by_id[piece.segments[0]], by_id[piece.segments[-1]]
        middle = (first.start + last.end) / 2
        truth = min(turns, key=lambda t: 0 if t.start <= middle <= t.end else abs(t.start - middle))
        count = len(piece.text.split())
        words += count
        right += count if piece.speaker == truth.speaker else 0
    return right, words
