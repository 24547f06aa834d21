"""Drug names the note engine knows, and near-miss corrections against them.

The names come from PyPI ``drug-named-entity-recognition`` (MIT, Fast Data Science), kept as
name -> canonical drug in ``data/drugs.json.gz`` by ``eval/build_drug_lexicon.py`` (the
package itself costs 350 MB of memory to import). Names are compared lower case without
accents, so "losartán" is "losartan" and "metformina" is metformin.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from difflib import SequenceMatcher
from functools import cache
from importlib.resources import files

_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
# Names of the lexicon that are ordinary words in a consultation, not drugs said aloud.
_NOT_DRUGS = frozenset(
    {"diamonds", "sits", "paps", "all clear", "camila", "alkaline phosphatase", "uric acid",
     "amino acids", "nasal spray", "proton pump", "sleeping pills", "cortisol", "estrogen",
     "aldosterone", "growth hormone", "pituitary hormones"}
)  # fmt: skip
# A near miss is corrected only when it is this similar to one name and clearly less to any
# other: a wrong drug in a note is worse than a misspelt one.
STRONG_MATCH = 0.84
_RUNNER_UP_GAP = 0.06
_MIN_LENGTH = 6


def plain(text: str) -> str:
    """Lower case without accents ("Losartán" -> "losartan")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return decomposed.encode("ascii", "ignore").decode()


@cache
def lexicon() -> dict[str, str]:
    """Every drug name (lower case, no accents) and its canonical drug."""
    data = files(__package__).joinpath("data/drugs.json.gz").read_bytes()
    names: dict[str, str] = json.loads(gzip.decompress(data))
    for word in _NOT_DRUGS:
        names.pop(word, None)
    return names


@cache
def _by_start() -> dict[str, tuple[str, ...]]:
    """Single-word names by their first two letters, to look for near misses quickly."""
    groups: dict[str, list[str]] = {}
    for name in lexicon():
        if " " not in name and len(name) >= _MIN_LENGTH:
            groups.setdefault(name[:2], []).append(name)
    return {k: tuple(v) for k, v in groups.items()}


def drugs_in(text: str) -> dict[str, str]:
    """The drugs named in ``text``: each name as found (plain) -> its canonical drug."""
    names = lexicon()
    words = [plain(w) for w in _WORD.findall(text)]
    found: dict[str, str] = {}
    for i, word in enumerate(words):
        pair = f"{word} {words[i + 1]}" if i + 1 < len(words) else ""
        if pair in names:
            found[pair] = names[pair]
        elif word in names:
            found[word] = names[word]
    return found


def near_miss(word: str) -> str | None:
    """The drug name ``word`` is a near miss of, when the match is strong; else None.

    A word that is itself a drug or too short to judge is never corrected.
    """
    key = plain(word)
    if len(key) < _MIN_LENGTH or key in lexicon():
        return None
    names = lexicon()
    best: dict[str, tuple[float, str]] = {}
    for name in _by_start().get(key[:2], ()):
        if abs(len(name) - len(key)) > 2:
            continue
        score = SequenceMatcher(None, key, name).ratio()
        canonical = names[name]
        if score > best.get(canonical, (0.0, ""))[0]:
            best[canonical] = (score, name)
    # Names of one drug ("metformin", "metformina") do not compete with each other.
    ranked = sorted(best.values(), reverse=True)
    if not ranked or ranked[0][0] < STRONG_MATCH:
        return None
    if len(ranked) > 1 and ranked[0][0] - ranked[1][0] < _RUNNER_UP_GAP:
        return None
    return ranked[0][1]


# A near miss is looked for only right before a dose ("metforman 500 mg", "lisinipril 10 mg"
# once numbers are digits). Elsewhere a word like "allergies" is too close to a drug name
# ("allergoids") to be corrected safely, and "allergies 2 times a year" is no dose.
_BEFORE_DOSE = re.compile(
    r"\b([^\W\d_]{6,})(?=\s+\d+(?:[.,]\d+)?\s*(?:mg|mcg|g|ml|milligrams?|micrograms?|grams?|"
    r"units?|unidades|miligramos?|microgramos?|gramos?)\b)",
    re.IGNORECASE,
)


def misheard(text: str) -> list[tuple[str, str]]:
    """Words of ``text`` (numbers in digits) that are strong near misses of a drug name said
    with a dose: (the word as written, the drug name)."""
    found: list[tuple[str, str]] = []
    for match in _BEFORE_DOSE.finditer(text):
        name = near_miss(match.group(1))
        if name is not None:
            found.append((match.group(1), name))
    return found
