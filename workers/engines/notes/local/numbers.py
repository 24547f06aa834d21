"""Spoken quantities written as notes write them: "five hundred milligrams" -> "500 mg".

Number words become digits through ``spoken_numbers`` (whole numbers only: a dose is never
half-converted); readings said the clinician's way ("one twenty over eighty") become 120/80.
The value is never changed, only its spelling.
"""

from __future__ import annotations

import re

from .spoken_numbers import words_to_digits

_UNITS_EN = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_UNITS_ES = {
    "cero": 0, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
    "quince": 15, "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50,
    "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "cientos": 100, "mil": 1000}
# A reading in digits "over"/"sobre" another: blood pressure, written as notes write it.
_OVER = re.compile(r"\b(\d{2,3}) (?:over|sobre) (\d{2,3})\b", re.IGNORECASE)
_MILLIGRAMS = re.compile(r"(?<=\d)(\s+)(milligrams?|miligramos?)\b", re.IGNORECASE)


def digits(text: str, language: str) -> str:
    """Number words in digits (whole or not at all), blood pressure as 120/80, mg for
    milligrams."""
    units = _UNITS_ES if language.lower().startswith("es") else _UNITS_EN
    text = _pressure(text, units)
    text = words_to_digits(text, language)
    text = _OVER.sub(_reading, text)
    return _MILLIGRAMS.sub(lambda m: f"{m.group(1)}mg", text)


def _reading(match: re.Match[str]) -> str:
    high, low = int(match.group(1)), int(match.group(2))
    if 60 <= high <= 260 and 30 <= low <= 160:
        return f"{high}/{low}"
    return match.group(0)


def _value(words: list[str], units: dict[str, int]) -> int | None:
    total = 0
    current = 0
    for word in words:
        if word in units:
            current += units[word]
        elif word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total += current
                current = 0
        else:
            return None
    return total + current


def _spoken(words: list[str], units: dict[str, int]) -> int | None:
    """A reading as said: "one twenty" is 120, "one thirty five" 135, "ninety eight" 98."""
    if len(words) >= 2 and words[0] in ("one", "two") and units.get(words[1], 0) >= 10:
        rest = _value(words[1:], units)
        return None if rest is None or rest >= 100 else 100 * units[words[0]] + rest
    return _value(words, units)


def _pressure(text: str, units: dict[str, int]) -> str:
    """Blood pressure as said ("one twenty over eighty") written as 120/80."""
    words = "|".join(sorted(units, key=len, reverse=True))
    number = rf"(?:{words})(?:[\s-]+(?:{words}))*"
    pattern = re.compile(rf"\b({number}) over ({number})\b", re.IGNORECASE)

    def replace(match: re.Match[str]) -> str:
        high = _spoken(re.split(r"[\s-]+", match.group(1).lower()), units)
        low = _spoken(re.split(r"[\s-]+", match.group(2).lower()), units)
        if high is None or low is None or not 60 <= high <= 260 or not 30 <= low <= 160:
            return match.group(0)
        return f"{high}/{low}"

    return pattern.sub(replace, text)
