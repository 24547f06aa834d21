"""Which note part a sentence belongs to, and how much it is worth keeping.

A sentence scores one point per cue phrase of a part it contains (lexicon.py lists them);
numbers (doses, vitals, measurements) add a point because notes keep them. What the patient
says is history; what the clinician says is examination, results, assessment or plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from core.domain import Speaker

from .lexicon import ASSESSMENT, EXAM, HPI, PLAN, RESULTS, ROS, Lexicon
from .sentences import Unit

_NUMBER = re.compile(r"\d")
_DICTATION = re.compile(r"\b\d+\s*-?\s*years?[- ]old\b|\b\d+ años\b", re.IGNORECASE)
# Ties between the clinician's parts go to the more specific one.
_CLINICIAN_PARTS = (RESULTS, EXAM, PLAN, ASSESSMENT)
# History cues a clinician's sentence needs to count as history when nothing else fits.
_CLINICIAN_HISTORY_POINTS = 2


@dataclass(frozen=True, slots=True)
class Scored:
    """A sentence's part and its worth."""

    part: str
    score: float


@cache
def _cue_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    # Cues match at a word start: "wheez" finds "wheezing", "ct" does not find "fact".
    names = "|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{names})", re.IGNORECASE)


def cue_points(text: str, part: str, lexicon: Lexicon) -> int:
    """How many cues of ``part`` the text holds."""
    return len(_cue_pattern(lexicon.cues[part]).findall(text))


def is_dictation(unit: Unit, lexicon: Lexicon) -> bool:
    """The clinician describing the patient in the third person ("a 50-year-old female ...")."""
    return unit.speaker != Speaker.PATIENT and bool(_DICTATION.search(unit.text))


def classify(unit: Unit, lexicon: Lexicon) -> Scored | None:
    """The part and score of a sentence, or None when it belongs in no note."""
    bonus = 1.0 if _NUMBER.search(unit.text) else 0.0
    if is_dictation(unit, lexicon):
        return Scored(HPI, 50.0)
    if unit.speaker == Speaker.PATIENT:
        points = cue_points(unit.text, HPI, lexicon) + cue_points(unit.text, ROS, lexicon)
        return Scored(HPI, points + bonus)
    best = max(_CLINICIAN_PARTS, key=lambda p: cue_points(unit.text, p, lexicon))
    points = cue_points(unit.text, best, lexicon)
    if points == 0:
        # The clinician recapping the history ("so the pain started 2 weeks ago").
        history = cue_points(unit.text, HPI, lexicon) + cue_points(unit.text, ROS, lexicon)
        if history >= _CLINICIAN_HISTORY_POINTS:
            return Scored(HPI, history - 1 + bonus)
        return None
    return Scored(best, points + bonus)
