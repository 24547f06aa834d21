"""Misheard drug names corrected in the note, and each correction shown on its sentence.

Speech recognizers mishear drug names ("lisinipril"). A note sentence's word is rewritten
to the lexicon's spelling only when it stands before a dose and matches one drug strongly
(``drugs.near_miss``); the sentence then carries a ``TermCorrection`` so a reader sees
both words. The transcript keeps what was heard.
"""

from __future__ import annotations

import re
from dataclasses import replace

from core.domain import NoteSentence, TermCorrection

from .drugs import misheard


def _spelled_like(name: str, word: str) -> str:
    """The drug name in the case the word was written in ("Lisinipril" -> "Lisinopril")."""
    if word.isupper():
        return name.upper()
    if word[:1].isupper():
        return name[:1].upper() + name[1:]
    return name


def correct_drugs(sentence: NoteSentence) -> NoteSentence:
    """The sentence with strong near-miss drug names corrected and marked."""
    found = misheard(sentence.text)
    if not found:
        return sentence
    text = sentence.text
    corrections: list[TermCorrection] = []
    for word, name in found:
        written = _spelled_like(name, word)
        text = re.sub(rf"\b{re.escape(word)}\b", written, text)
        corrections.append(TermCorrection(heard=word, written=written))
    return replace(sentence, text=text, corrections=(*sentence.corrections, *corrections))
