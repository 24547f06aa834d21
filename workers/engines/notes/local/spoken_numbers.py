"""Number words written in digits, whole or not at all: "doscientos cincuenta" -> "250".

A dose read out wrong is a safety defect, so a run of number words is parsed as one number
by text2num (a kept parser of English and Spanish number words, among others) and written in
digits only when the whole run parses. A run that does not ("eight thirty", "veinte cinco")
keeps its words: a half-converted "doscientos 50" is worse than none.

What becomes digits:
- every run of number words ("setenta y cinco" -> 75, "two hundred fifty" -> 250);
- decimals said with "point"/"punto"/"coma" ("cero punto cinco" -> 0.5, "one point five"
  -> 1.5; "coma" keeps the Spanish decimal comma, "0,5");
- a half after a number ("dos y medio" -> 2.5, "one and a half" -> 1.5), and the time
  "las ocho y media" -> "las 8:30";
- "one"/"un"/"una"/"uno" only when they count something a dose is counted in ("one tablet",
  "una pastilla"), open a range ("one to two", "uno o dos") or carry a decimal or a half: they
  are otherwise articles and pronouns ("one of them", "un paciente");
- a decimal without a leading number ("point five milligrams") only before a dose unit, since
  "at this point five people" is prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from text_to_num import text2num

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# What may stand between two words of one number: spaces, or a hyphen ("twenty-five"); after
# "thousand"/"mil" also a comma, as "one thousand, five hundred" is written.
_JOIN = re.compile(r"\s*-\s*|\s+")
_SCALE_JOIN = re.compile(r",?\s+")
_COMMA_SCALES = frozenset({"thousand", "million", "mil", "millón"})
_SPACE = re.compile(r"\s+")

# Spellings ASR writes without their accents, mapped to the forms text2num knows.
_ALIASES = {
    "veintidos": "veintidós",
    "veintitres": "veintitrés",
    "veintiseis": "veintiséis",
    "veintiún": "veintiuno",
    "veintiun": "veintiuno",
    "dieciseis": "dieciséis",
}
# Words text2num reads as numbers that speech mostly means otherwise ("the good ones",
# "hundreds of times", "unos días", "o" as a letter): never digits.
_NOT_NUMBERS = {
    "en": frozenset({"o", "ones", "hundreds", "thousands"}),
    "es": frozenset({"unos", "unas", "cientos", "miles", "millones"}),
}
_ARTICLES = frozenset({"one", "un", "una", "uno"})
_CONNECTORS = {"en": "and", "es": "y"}
_POINTS = {"en": ("point",), "es": ("punto", "coma")}
_RANGES = {"en": frozenset({"to", "or"}), "es": frozenset({"a", "o", "u"})}
# Units a dose is counted in; "one"/"un"/"una" before them are counts, not articles.
_DOSE_UNITS = {
    "en": frozenset({
        "mg", "milligram", "milligrams", "microgram", "micrograms", "mcg", "gram", "grams",
        "g", "ml", "milliliter", "milliliters", "cc", "unit", "units", "tablet", "tablets",
        "pill", "pills", "capsule", "capsules", "puff", "puffs", "drop", "drops", "teaspoon",
        "teaspoons", "tablespoon", "tablespoons",
    }),
    "es": frozenset({
        "mg", "miligramo", "miligramos", "microgramo", "microgramos", "gramo", "gramos", "g",
        "ml", "mililitro", "mililitros", "unidad", "unidades", "pastilla", "pastillas",
        "comprimido", "comprimidos", "cápsula", "cápsulas", "tableta", "tabletas", "gota",
        "gotas", "cucharada", "cucharadas",
    }),
}  # fmt: skip
_HALF = {"en": (("and", "a", "half"),), "es": (("y", "medio"), ("y", "media"))}
# Scale words a recognizer writes after digits ("5 hundred", "25 thousand", "5 mil"), and the
# article that counts one of them ("a hundred", "un millón").
_SCALES = {
    "en": frozenset({"hundred", "thousand", "million", "billion"}),
    "es": frozenset({"cien", "ciento", "mil", "millón"}),
}
_ONE = {"en": frozenset({"a"}), "es": frozenset({"un"})}
_DIGITS_BEFORE = re.compile(r"(\d+)[ \t]+$")
_WORD_BEFORE = re.compile(r"([^\W\d_]+)\W*$")
# More of the number after its scale words: "and 25", ", 500", " 5".
_MORE_DIGITS = re.compile(r"(?:\s+(?:and|y)\s+|,?\s*)\d")
_CLOCK = {"es": frozenset({"la", "las"})}


@dataclass(frozen=True, slots=True)
class _Word:
    start: int
    end: int
    lower: str


def _language(language: str) -> str:
    return "es" if language.lower().startswith("es") else "en"


@cache
def _number(phrase: str, lang: str) -> int | None:
    """The value of a phrase of number words, or None when it is not one number."""
    try:
        value = text2num(phrase, lang)
    except ValueError:
        return None
    return int(value)


@cache
def _is_number_word(word: str, lang: str) -> bool:
    if word in _NOT_NUMBERS[lang]:
        return False
    return _number(_ALIASES.get(word, word), lang) is not None


def _phrase(words: list[_Word]) -> str:
    return " ".join(_ALIASES.get(w.lower, w.lower) for w in words)


class _Reader:
    """Walks the words of one text, finding number runs and what follows them."""

    def __init__(self, text: str, lang: str) -> None:
        self.text = text
        self.lang = lang
        self.words = [_Word(m.start(), m.end(), m.group(0).lower()) for m in _WORD.finditer(text)]

    def joined(self, i: int) -> bool:
        """Whether word i+1 follows word i with only spaces or a hyphen between them."""
        if i + 1 >= len(self.words):
            return False
        gap = self.text[self.words[i].end : self.words[i + 1].start]
        if self.words[i].lower in _COMMA_SCALES and _SCALE_JOIN.fullmatch(gap):
            return True
        return gap == "" or bool(_JOIN.fullmatch(gap))

    def spaced(self, i: int) -> bool:
        """Whether word i+1 follows word i with only spaces between them."""
        if i + 1 >= len(self.words):
            return False
        return bool(_SPACE.fullmatch(self.text[self.words[i].end : self.words[i + 1].start]))

    def number_at(self, i: int) -> bool:
        return 0 <= i < len(self.words) and _is_number_word(self.words[i].lower, self.lang)

    def run(self, i: int) -> int:
        """The end (exclusive) of the run of number words starting at i."""
        j = i + 1
        connector = _CONNECTORS[self.lang]
        while j < len(self.words) and self.joined(j - 1):
            if self.number_at(j):
                j += 1
            elif self.words[j].lower == connector and self.joined(j) and self.number_at(j + 1):
                j += 2
            else:
                break
        return j

    def follows(self, end: int, phrase: tuple[str, ...]) -> bool:
        """Whether the words from ``end`` are ``phrase``, each joined to the one before."""
        for k, expected in enumerate(phrase):
            i = end + k
            if i >= len(self.words) or self.words[i].lower != expected or not self.joined(i - 1):
                return False
        return True

    def next_is(self, end: int, words: frozenset[str]) -> bool:
        return end < len(self.words) and self.spaced(end - 1) and self.words[end].lower in words


def _value(words: list[_Word], lang: str) -> list[tuple[list[_Word], int]] | None:
    """The run as one number, or as numbers joined by "and"/"y" ("dos y tres"); None when any
    part fails, so that nothing of the run is converted."""
    whole = _number(_phrase(words), lang)
    if whole is not None:
        return [(words, whole)]
    parts: list[list[_Word]] = [[]]
    for word in words:
        if word.lower == _CONNECTORS[lang]:
            parts.append([])
        else:
            parts[-1].append(word)
    found: list[tuple[list[_Word], int]] = []
    for part in parts:
        value = _number(_phrase(part), lang) if part else None
        if value is None or len(parts) == 1:
            return None
        found.append((part, value))
    return found


def _fraction(reader: _Reader, point: int) -> tuple[str, int, str] | None:
    """A decimal part said from word ``point`` on ("point five", "punto cinco"): its
    separator, the end of its words and its digits."""
    lang = reader.lang
    if point >= len(reader.words) or reader.words[point].lower not in _POINTS[lang]:
        return None
    if not reader.joined(point) or not reader.number_at(point + 1):
        return None
    stop = point + 1
    while stop < len(reader.words) and reader.number_at(stop) and reader.joined(stop - 1):
        stop += 1
    words = reader.words[point + 1 : stop]
    singles = [_number(_phrase([w]), lang) for w in words]
    if all(v is not None and v < 10 for v in singles):
        digits = "".join(str(v) for v in singles)
    else:
        value = _number(_phrase(words), lang)
        if value is None:
            return None
        digits = str(value)
    separator = "," if reader.words[point].lower == "coma" else "."
    return separator, stop, digits


def words_to_digits(text: str, language: str) -> str:
    """``text`` with its number words written in digits (see the module docstring)."""
    lang = _language(language)
    # Most sentences hold no number word: skip building the reader for them.
    if not any(_is_number_word(w, lang) or w in _POINTS[lang] for w in _WORD.findall(text.lower())):
        return text
    reader = _Reader(text, lang)
    words = reader.words
    out: list[str] = []
    position = 0
    i = 0
    while i < len(words):
        scaled = _scaled(reader, i, position)
        if scaled is not None:
            start, number, end = scaled
            out.append(text[position:start])
            out.append(number)
            position = words[end - 1].end
            i = end
            continue
        written, end = _convert_at(reader, i)
        if written is None:
            i += 1
            continue
        out.append(text[position : words[i].start])
        out.extend(written)
        position = words[end - 1].end
        i = end
    out.append(text[position:])
    return "".join(out)


def _scaled(reader: _Reader, i: int, floor: int) -> tuple[int, str, int] | None:
    """A number said half in digits from word i ("5 hundred", "25 thousand", "a hundred"),
    as recognizers write it: where it starts, how it is written and the end of its words.

    It is written whole ("500") when the digits (or "a") and the scale words are all of it;
    when more of the number stands before or after ("3 hundred and 25", "1 thousand 5
    hundred"), as said. None when word i opens no such number."""
    lang, words, text = reader.lang, reader.words, reader.text
    if words[i].lower not in _SCALES[lang]:
        return None
    digits = _DIGITS_BEFORE.search(text[floor : words[i].start])
    one = i > 0 and words[i - 1].lower in _ONE[lang] and words[i - 1].start >= floor
    if digits is None and not (one and reader.spaced(i - 1)):
        return None
    start = floor + digits.start(1) if digits else words[i - 1].start
    end = i + 1
    while end < len(words) and words[end].lower in _SCALES[lang] and reader.joined(end - 1):
        end += 1
    value = _number(_phrase(words[i:end]), lang)
    if reader.number_at(end) and reader.joined(end - 1):
        # Number words go on ("1 mil quinientos"): the whole run stays as said.
        end = reader.run(end)
        value = None
    said = text[start : words[end - 1].end]
    before = _WORD_BEFORE.search(text[:start])
    more = _MORE_DIGITS.match(text, words[end - 1].end) is not None or (
        digits is not None and before is not None and _is_number_word(before[1], lang)
    )
    if value is None or more:
        return start, said, end
    return start, str((int(digits[1]) if digits else 1) * value), end


def _convert_at(reader: _Reader, i: int) -> tuple[list[str] | None, int]:
    """What the words from i are written as, and where they end; (None, i) for no number."""
    lang = reader.lang
    words = reader.words
    if not reader.number_at(i):
        # "point five milligrams": a decimal with no leading number, only before a dose unit.
        fraction = _fraction(reader, i)
        if fraction is not None and reader.next_is(fraction[1], _DOSE_UNITS[lang]):
            separator, end, digits = fraction
            return [f"0{separator}{digits}"], end
        return None, i
    if lang == "es" and _percent(reader, i):
        return None, i
    end = reader.run(i)
    parts = _value(words[i:end], lang)
    if parts is None:
        return [reader.text[words[i].start : words[end - 1].end]], end
    if len(parts) > 1:
        written: list[str] = []
        last = words[i].start
        for run, value in parts:
            written.append(reader.text[last : run[0].start])
            written.append(str(value))
            last = run[-1].end
        return written, end
    value = parts[0][1]
    fraction = _fraction(reader, end) if reader.joined(end - 1) else None
    if fraction is not None:
        separator, stop, digits = fraction
        return [f"{value}{separator}{digits}"], stop
    for half in _HALF[lang]:
        if reader.follows(end, half):
            clock = lang in _CLOCK and i > 0 and words[i - 1].lower in _CLOCK[lang]
            if clock and half[-1] == "media":
                return [f"{value}:30"], end + len(half)
            return [f"{value}.5"], end + len(half)
    if end - i == 1 and words[i].lower in _ARTICLES and not _counts(reader, i, end):
        return None, i
    return [str(value)], end


def _counts(reader: _Reader, i: int, end: int) -> bool:
    """Whether a lone "one"/"un"/"una"/"uno" counts: before a dose unit or in a range."""
    lang = reader.lang
    if reader.next_is(end, _DOSE_UNITS[lang]):
        return True
    ranges = _RANGES[lang]
    if reader.next_is(end, ranges) and reader.spaced(end) and reader.number_at(end + 1):
        return True
    return i >= 2 and reader.words[i - 1].lower in ranges and reader.number_at(i - 2)


def _percent(reader: _Reader, i: int) -> bool:
    """Spanish "por ciento" (percent): its "ciento"/"cien" is no hundred."""
    word = reader.words[i].lower
    return word in ("ciento", "cien") and i > 0 and reader.words[i - 1].lower == "por"
