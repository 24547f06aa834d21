"""A small guess at a text's language, for text transcripts that do not say theirs."""

from __future__ import annotations

import re

_SPANISH = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "de",
        "que",
        "y",
        "en",
        "un",
        "una",
        "por",
        "con",
        "para",
        "no",
        "es",
        "se",
        "lo",
        "le",
        "me",
        "mi",
        "su",
        "pero",
        "como",
        "está",
        "tengo",
        "usted",
        "dolor",
        "días",
        "desde",
        "hace",
        "muy",
        "bien",
        "sí",
        "también",
        "qué",
        "cómo",
        "cuándo",
    ]
)
_ENGLISH = frozenset(
    [
        "the",
        "and",
        "of",
        "to",
        "a",
        "in",
        "is",
        "it",
        "you",
        "that",
        "have",
        "for",
        "with",
        "on",
        "this",
        "my",
        "your",
        "are",
        "was",
        "not",
        "do",
        "be",
        "any",
        "pain",
        "days",
        "since",
        "very",
        "well",
        "yes",
        "also",
        "what",
        "how",
        "when",
    ]
)


def guess_language(text: str) -> str:
    """ "es" when Spanish function words outnumber English ones, else "en"."""
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    spanish = sum(w in _SPANISH for w in words)
    english = sum(w in _ENGLISH for w in words)
    return "es" if spanish > english else "en"
