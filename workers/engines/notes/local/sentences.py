"""Transcript segments cut into clean sentences ("units") that remember where they came from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from core.domain import Speaker, Transcript

from .lexicon import Lexicon

# Fillers removed wherever they stand: they never carry meaning.
_ALWAYS = frozenset({"um", "umm", "uh", "uhm", "hmm", "mm-hmm", "mhm", "uh-huh", "eh", "em", "mmm"})
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_REPEAT = re.compile(r"\b(\w+(?:'\w+)?)(?:\s*,)?\s+\1\b", re.IGNORECASE)
_CUT_WORD = re.compile(r"\b\w+-(?=\s|$)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.?!;:%])")
_DOUBLE_COMMA = re.compile(r"(,\s*)+,")
_NUMBER = re.compile(r"\d")
_WORDS = re.compile(r"[\w'-]+")


@dataclass(frozen=True, slots=True)
class Unit:
    """One sentence of one segment, cleaned, with its segment id and speaker."""

    index: int
    segment: int
    speaker: Speaker
    text: str
    question: bool

    @property
    def words(self) -> list[str]:
        return _WORDS.findall(self.text.lower())


@cache
def _boundary_fillers(fillers: tuple[str, ...]) -> re.Pattern[str]:
    """Fillers at the start of a sentence or between commas ("so , um , you know , the pain")."""
    names = "|".join(sorted((re.escape(f) for f in fillers), key=len, reverse=True))
    return re.compile(rf"(^|,)\s*(?:{names})\s*(?=,|[.?!]|$)", re.IGNORECASE)


def clean(text: str, lexicon: Lexicon) -> str:
    """Drop fillers, stutters and cut-off words; tidy the spacing of punctuation."""
    words = [w for w in text.split() if w.lower().strip(",.") not in _ALWAYS]
    text = " ".join(words)
    text = _CUT_WORD.sub("", text)
    pattern = _boundary_fillers(lexicon.fillers)
    previous = None
    while previous != text:
        previous = text
        text = pattern.sub(r"\1", text).strip(" ,")
        text = _REPEAT.sub(r"\1", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _DOUBLE_COMMA.sub(",", text)
    text = " ".join(text.split()).strip(" ,;")
    return text


def _guess_speakers(transcript: Transcript) -> list[Speaker]:
    """Speakers of each segment; unlabelled segments get a guess from their words.

    A clinician asks questions and talks about "you"; a patient talks about "my" and "I've
    been". When nothing tells, turns alternate and whoever opened is taken as the clinician.
    """
    speakers = [s.speaker for s in transcript.segments]
    if all(s in (Speaker.CLINICIAN, Speaker.PATIENT, Speaker.OTHER) for s in speakers):
        return speakers
    scores: list[int] = []
    for segment in transcript.segments:
        text = f" {segment.text.lower()} "
        score = text.count("?") * 2 + text.count(" you ") + text.count(" your ")
        score += 2 * sum(
            text.count(cue)
            for cue in (" let's ", " we'll ", " i'm going to ", " prescribe", " exam", " vamos a ")
        )
        score -= 2 * (text.count(" my ") + text.count(" i've been ") + text.count(" mi "))
        scores.append(score)
    even = sum(scores[0::2])
    odd = sum(scores[1::2])
    clinician_parity = 0 if even >= odd else 1
    guessed: list[Speaker] = []
    for i, (speaker, score) in enumerate(zip(speakers, scores, strict=True)):
        if speaker != Speaker.UNKNOWN:
            guessed.append(speaker)
        elif score >= 3:
            guessed.append(Speaker.CLINICIAN)
        elif score <= -2:
            guessed.append(Speaker.PATIENT)
        else:
            guessed.append(Speaker.CLINICIAN if i % 2 == clinician_parity else Speaker.PATIENT)
    return guessed


def units_of(transcript: Transcript, lexicon: Lexicon) -> list[Unit]:
    """Every sentence of the transcript, cleaned; empty ones are kept out."""
    units: list[Unit] = []
    speakers = _guess_speakers(transcript)
    for segment, speaker in zip(transcript.segments, speakers, strict=True):
        for raw in _SENTENCE_END.split(segment.text.strip()):
            text = clean(raw, lexicon)
            if not text or not _WORDS.search(text):
                continue
            units.append(
                Unit(
                    index=len(units),
                    segment=segment.id,
                    speaker=speaker,
                    text=text,
                    question=raw.rstrip().endswith("?"),
                )
            )
    return units


def is_empty(unit: Unit, lexicon: Lexicon) -> bool:
    """A greeting, a back-channel or a sentence too short to hold a finding."""
    bare = unit.text.lower().strip(" .?!,")
    if bare in lexicon.empty_sentences:
        return True
    return len(unit.words) < 4 and not _NUMBER.search(unit.text)


def sentence_case(text: str) -> str:
    """Upper-case first letter, a full stop at the end, "I" as a word upper-cased."""
    text = text.strip(" ,;")
    if not text:
        return text
    text = re.sub(r"\bi\b", "I", text)
    text = text[0].upper() + text[1:]
    if text[-1] not in ".?!":
        text += "."
    return text
