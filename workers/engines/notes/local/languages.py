"""The lexicon for a note's language."""

from __future__ import annotations

from .english import EN
from .lexicon import Lexicon
from .spanish import ES


def lexicon_for(language: str) -> Lexicon:
    """The lexicon of a BCP-47 language; English unless the code starts with "es"."""
    return ES if language.lower().startswith("es") else EN
