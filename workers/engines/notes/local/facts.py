"""Faithfulness: the facts a note may state only when the transcript said them.

A fact is a number (a dose, a reading, a duration), a drug or a side of the body. The note
engine drops any note sentence holding a fact its transcript does not hold, and the
evaluation counts such facts (``unsupported_facts``) over every note it scores, whichever
engine wrote it. Both sides are read the same way: number words in digits (``numbers.py``),
drugs by canonical name (so "Tylenol" supports "acetaminophen"), sides in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .drugs import drugs_in, misheard
from .numbers import digits

# A number as notes write it: "1,500" and "1500" are the same, "0,5" is 0.5.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_SIDES = {
    "left": "left",
    "right": "right",
    "izquierdo": "left",
    "izquierda": "left",
    "izquierdos": "left",
    "izquierdas": "left",
    "derecho": "right",
    "derecha": "right",
    "derechos": "right",
    "derechas": "right",
}
_SIDE = re.compile(rf"\b({'|'.join(_SIDES)})\b", re.IGNORECASE)
# "right" also means "correct" or "just" ("right now", "that's right", "all right"): those
# idioms are no side, in the note or in the transcript.
_NOT_A_SIDE = re.compile(
    r"\b(?:all|that's|thats|is|you're|youre|right|okay|ok|alright)\s+right\b"
    r"|\bright\s+(?:now|away|here|there|after|before|then|so|okay|ok|yeah|yes|and|on|back|"
    r"about|at|when|where|over|into|in|to|time|thing|way)\b"
    # A tag question or a closing "right" ("it's getting stuck, right?"), not "the right.".
    r"|(?<!the )(?<!your )(?<!my )(?<!his )(?<!her )\bright(?=\s*[?.!,]|\s*$)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Facts:
    """The numbers, drugs (canonical names) and sides (left/right) a text states."""

    numbers: frozenset[str]
    drugs: frozenset[str]
    sides: frozenset[str]

    def missing_from(self, source: Facts) -> list[str]:
        """This text's facts that ``source`` does not state, as written in a report."""
        return [
            *(f"number {n}" for n in sorted(self.numbers - source.numbers)),
            *(f"drug {d}" for d in sorted(self.drugs - source.drugs)),
            *(f"side {s}" for s in sorted(self.sides - source.sides)),
        ]


def _number(text: str) -> str:
    value = text.replace(",", ".")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value.lstrip("0") or "0"


def facts_of(text: str, language: str) -> Facts:
    """The facts of ``text`` (a transcript's or a note's: digits are read as they stand)."""
    text = digits(text, language)
    text = _THOUSANDS.sub("", text)
    numbers = frozenset(_number(m.group(0)) for m in _NUMBER.finditer(text))
    drugs = frozenset(drugs_in(text).values())
    without_idioms = _NOT_A_SIDE.sub(" ", text)
    sides = frozenset(_SIDES[m.group(1).lower()] for m in _SIDE.finditer(without_idioms))
    return Facts(numbers, drugs, sides)


def transcript_facts(texts: Iterable[str], language: str) -> Facts:
    """The facts of a whole transcript, one segment at a time so that a number is never read
    across two speakers' turns. A misheard drug name said with a dose ("lisinipril 10 mg")
    supports the drug it strongly matches, which the note writes corrected and marked."""
    numbers: set[str] = set()
    drugs: set[str] = set()
    sides: set[str] = set()
    for text in texts:
        found = facts_of(text, language)
        numbers |= found.numbers
        drugs |= found.drugs
        sides |= found.sides
        drugs.update(drugs_in(name)[name] for _, name in misheard(digits(text, language)))
    return Facts(frozenset(numbers), frozenset(drugs), frozenset(sides))


def unsupported(sentence: str, source: Facts, language: str) -> list[str]:
    """The facts of a note sentence that its transcript does not state."""
    return facts_of(sentence, language).missing_from(source)
