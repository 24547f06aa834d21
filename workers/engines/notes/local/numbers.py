"""Spoken quantities written as notes write them: "five hundred milligrams" -> "500 mg".

Only a number followed by a unit is rewritten ("two weeks", "ten milligrams"), so "one of
the reasons" stays prose. The value is never changed, only its spelling.
"""

from __future__ import annotations

import re
from functools import cache

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

# Words a quantity is counted in; "milligrams" is also written as notes write it.
_AFTER_EN = (
    "mg", "milligram", "milligrams", "microgram", "micrograms", "gram", "grams", "units",
    "unit", "ml", "milliliters", "cc", "puffs", "puff", "tablets", "tablet", "pills", "pill",
    "capsules", "times", "time", "days", "day", "weeks", "week", "months", "month", "years",
    "year", "hours", "hour", "minutes", "minute", "pounds", "pound", "degrees", "percent", "liters",
    "out", "beers", "drinks", "cigarettes", "packs", "miles", "blocks", "episodes",
)  # fmt: skip
_AFTER_ES = (
    "mg", "miligramos", "gramos", "unidades", "ml", "pastillas", "comprimidos", "veces",
    "días", "semanas", "meses", "años", "horas", "minutos", "kilos", "grados", "litros",
)  # fmt: skip
_OUT_OF = re.compile(
    r"(?<=\d )out of ((?:ten|nine|eight|seven|six|five|four|three|two|one)(?: hundred)?)\b",
    re.IGNORECASE,
)
_ABBREVIATIONS = {"milligrams": "mg", "milligram": "mg", "miligramos": "mg"}


@cache
def _pattern(spanish: bool) -> tuple[re.Pattern[str], dict[str, int]]:
    units = _UNITS_ES if spanish else _UNITS_EN
    after = _AFTER_ES if spanish else _AFTER_EN
    words = "|".join(sorted([*units, *_SCALES], key=len, reverse=True))
    number = rf"(?:{words})(?:[\s-]+(?:{words}))*"
    tail = "|".join(after)
    return (
        re.compile(rf"\b({number})(\s+)({tail})\b", re.IGNORECASE),
        units,
    )


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


def digits(text: str, language: str) -> str:
    """Spelled-out quantities before a unit written in digits; milligrams as mg."""
    pattern, units = _pattern(language.lower().startswith("es"))

    def replace(match: re.Match[str]) -> str:
        words = [w for w in re.split(r"[\s-]+", match.group(1).lower()) if w]
        value = _value(words, units)
        if value is None:
            return match.group(0)
        unit = match.group(3)
        return f"{value}{match.group(2)}{_ABBREVIATIONS.get(unit.lower(), unit)}"

    text = pattern.sub(replace, text)
    text = _pressure(text, units)
    # "3 out of six" (murmur grades, pain scores): the second number has no unit after it.
    text = _OUT_OF.sub(
        lambda m: f"out of {_value(m.group(1).lower().split(), units) or m.group(1)}", text
    )
    return re.sub(
        r"(?<=\d)(\s+)(milligrams?|miligramos)\b",
        lambda m: f"{m.group(1)}mg",
        text,
        flags=re.IGNORECASE,
    )


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
        high = _spoken(match.group(1).lower().split(), units)
        low = _spoken(match.group(2).lower().split(), units)
        if high is None or low is None or not 60 <= high <= 260 or not 30 <= low <= 160:
            return match.group(0)
        return f"{high}/{low}"

    return pattern.sub(replace, text)
