"""The local note writer: picks, rewrites and files transcript sentences into note sections.

Deterministic and explainable: every sentence of the note is a transcript sentence (cleaned,
pronouns turned to the third person) or a yes/no answer turned into "denies"/"reports", and it
carries the ids of the segments it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from core.domain import Note, NoteSection, NoteSentence, Speaker, Transcript
from workers.engines.base import NoteRequest

from .classify import Scored, classify, is_dictation
from .corrections import correct_drugs
from .facts import transcript_facts, unsupported
from .languages import lexicon_for
from .lexicon import CC, EXAM, HPI, PLAN, RESPONSE, ROS, Lexicon
from .rewrite import (
    Answered,
    Pronouns,
    agreement,
    answered_questions,
    second_to_third,
    third_person,
)
from .sentences import Unit, is_empty, sentence_case
from .structure import plan_kind, system_of
from .templates import SECTIONS, title
from .units import units_and_replies

ENGINE_NAME = "local:extractive"

_CC_PATTERN = re.compile(
    r"\b(?:presents|presenting|here|is in|coming in|comes in|came in|seen|viene|acude"
    # A referral's reason: "referred by Diane Nelson for ...", "referred you for ...".
    r"|referred(?: you| him| her| them)?(?: (?:by|from)(?: [\w.']+){1,4}?)?)"
    r"(?: today| hoy)?(?: to (?:the clinic|see me))?"
    r" (?:for|with|por|con)(?: a| an| his| her| their| the| some| your| my| un| una| su| mi)?"
    r" (.+?)(?:[.,;]| and |$)",
    re.IGNORECASE,
)


# What the length budget counts: words and punctuation marks, whether the punctuation is
# spaced ("okay . so", ACI-Bench's transcripts, where ``str.split`` counted each mark as a
# word when the ratio was tuned) or attached ("okay. so", Whisper's). Counting only
# ``str.split`` pieces gave a recording's note about a fifth fewer words than the same
# visit's text transcript (ACI-Bench valid: 1,123 against 1,386 on D2N068).
_TOKENS = re.compile(r"[\w'-]+|[.,?!;:]")


@dataclass(frozen=True, slots=True)
class Tuning:
    """Knobs of sentence selection; values chosen on ACI-Bench train and valid."""

    #: Words of note per word of transcript, and the bounds of the note's length in words.
    ratio: float = 0.35
    min_words: int = 150
    max_words: int = 900
    #: Fewest cue points a patient sentence needs to be kept.
    min_patient_score: float = 1.0


TUNING = Tuning()


@dataclass(frozen=True, slots=True)
class _Candidate:
    part: str
    order: float
    score: float
    sentence: NoteSentence
    answer: Answered | None = None
    #: Said by the patient (their own words, not the clinician's).
    patient: bool = False

    @property
    def words(self) -> int:
        return len(self.sentence.text.split())


def _chief_complaint(units: list[Unit], lexicon: Lexicon) -> NoteSentence | None:
    """Why the patient came: "here for X" / "presents with X" / "referred by Y for X", else
    the first symptom named in the first third of the visit, or in its first three sentences
    when it is short ("this elbow pain" -> "Elbow pain.")."""
    for unit in units:
        match = _CC_PATTERN.search(unit.text)
        if (
            match
            and 1 <= len(match.group(1).split()) <= 8
            and _names_something(match.group(1), lexicon)
        ):
            return NoteSentence(sentence_case(match.group(1)), unit.segments)
    for unit in units[: max(3, len(units) // 3)]:
        if unit.question:
            continue
        for pattern, written in lexicon.complaints:
            for match in pattern.finditer(unit.text):
                if not _denied(unit.text[: match.start()], lexicon):
                    return NoteSentence(sentence_case(match.expand(written)), unit.segments)
    return None


def _denied(before: str, lexicon: Lexicon) -> bool:
    """Whether the last few words before a symptom, in its clause, deny it ("I have no pain
    in my chest", "no tengo mucha sed")."""
    clause = re.split(r"[,;:]", before)[-1].lower()
    words = re.findall(r"[\w']+", clause.replace("\u2019", "'"))[-4:]
    return any(w in lexicon.negations for w in words)


def _names_something(phrase: str, lexicon: Lexicon) -> bool:
    """Whether a reason caught by :data:`_CC_PATTERN` holds a word that names something (a
    word of three letters or more that is not one of the language's pronouns or times)."""
    words = re.findall(r"[^\W\d_]+", phrase.lower())
    return any(len(w) >= 3 and w not in lexicon.not_a_reason for w in words)


def _rewrite(unit: Unit, lexicon: Lexicon, pronouns: Pronouns) -> str:
    if unit.speaker == Speaker.PATIENT:
        return sentence_case(third_person(unit.text, lexicon, pronouns))
    if is_dictation(unit, lexicon):
        return sentence_case(unit.text)
    return sentence_case(second_to_third(unit.text, pronouns, lexicon))


def _candidates(transcript: Transcript, lexicon: Lexicon) -> list[_Candidate]:
    units, replies = units_and_replies(transcript, lexicon)
    clinician_text = " ".join(u.text for u in units if u.speaker != Speaker.PATIENT)
    pronouns = Pronouns.guess(clinician_text, lexicon)
    found: list[_Candidate] = []
    first_plan: int | None = None
    for unit in units:
        if unit.question or is_empty(unit, lexicon):
            continue
        scored: Scored | None = classify(unit, lexicon)
        if scored is None:
            continue
        part = scored.part
        if part == PLAN and first_plan is None:
            first_plan = unit.index
        if unit.speaker == Speaker.PATIENT:
            if first_plan is not None and part == HPI and scored.score < 2:
                part = RESPONSE
            elif scored.score < TUNING.min_patient_score:
                continue
        text = _rewrite(unit, lexicon, pronouns)
        sentence = NoteSentence(text, unit.segments)
        patient = unit.speaker == Speaker.PATIENT
        found.append(_Candidate(part, unit.index, scored.score, sentence, patient=patient))
    for answer in answered_questions(units, replies, lexicon, pronouns):
        phrase = lexicon.denies if answer.denied else lexicon.reports
        sentence = NoteSentence(sentence_case(phrase.format(answer.finding)), answer.evidence)
        found.append(_Candidate(ROS, answer.index, 2.0, sentence, answer))
    assent = agreement(units, replies, lexicon)
    if assent is not None:
        # Last in the plan, whatever was said after it: it closes the visit's plan.
        sentence = NoteSentence(lexicon.agrees, assent.evidence)
        found.append(_Candidate(RESPONSE, float(len(units)), 100.0, sentence))
    cc = _chief_complaint(units, lexicon)
    if cc is not None:
        found.append(_Candidate(CC, -1, 100.0, cc))
    return found


def _select(candidates: list[_Candidate], transcript: Transcript) -> list[_Candidate]:
    """The best-scoring candidates that fit the length budget, back in transcript order."""
    words = sum(len(_TOKENS.findall(s.text)) for s in transcript.segments)
    budget = max(TUNING.min_words, min(TUNING.max_words, int(words * TUNING.ratio)))
    chosen: list[_Candidate] = []
    used = 0
    seen: set[str] = set()
    for candidate in sorted(candidates, key=lambda c: (-c.score, c.order)):
        key = candidate.sentence.text.lower()
        if key in seen:
            continue
        if used + candidate.words > budget and chosen:
            continue
        seen.add(key)
        chosen.append(candidate)
        used += candidate.words
    return sorted(chosen, key=lambda c: c.order)


def _review_of_systems(
    chosen: list[_Candidate], lexicon: Lexicon, language: str
) -> list[NoteSentence]:
    """Answered findings grouped by organ system, one line per system, in order of asking."""
    lines: dict[str, tuple[list[str], set[int]]] = {}
    loose: list[NoteSentence] = []
    for candidate in chosen:
        answer = candidate.answer
        system = system_of(answer.finding, language) if answer is not None else None
        if answer is None or system is None:
            loose.append(candidate.sentence)
            continue
        phrase = lexicon.denies_short if answer.denied else lexicon.reports_short
        phrases, evidence = lines.setdefault(system, ([], set()))
        phrases.append(sentence_case(phrase.format(answer.finding)))
        evidence.update(answer.evidence)
    grouped = [
        NoteSentence(f"{system}: {' '.join(phrases)}", tuple(sorted(evidence)))
        for system, (phrases, evidence) in lines.items()
    ]
    return grouped + loose


def _labelled(sentence: NoteSentence, label: str | None) -> NoteSentence:
    if label is None:
        return sentence
    return replace(sentence, text=f"{label}: {sentence.text}")


def _by_part(
    chosen: list[_Candidate], lexicon: Lexicon, language: str
) -> dict[str, list[NoteSentence]]:
    """The chosen sentences of each note part, with systems and plan kinds labelled."""
    by_part: dict[str, list[NoteSentence]] = {}
    for candidate in chosen:
        sentence = candidate.sentence
        if candidate.part == ROS:
            continue
        if candidate.part == EXAM:
            sentence = _labelled(sentence, system_of(sentence.text, language, exam=True))
        elif candidate.part == PLAN:
            sentence = _labelled(sentence, plan_kind(sentence.text, language))
        by_part.setdefault(candidate.part, []).append(sentence)
    by_part[ROS] = _review_of_systems([c for c in chosen if c.part == ROS], lexicon, language)
    return by_part


def _unique(sentences: Iterable[NoteSentence]) -> tuple[NoteSentence, ...]:
    """Sentences without repeats: a chief complaint taken from the history is said once
    when both land in the same section (SOAP's subjective)."""
    seen: set[str] = set()
    kept: list[NoteSentence] = []
    for sentence in sentences:
        if sentence.text not in seen:
            seen.add(sentence.text)
            kept.append(sentence)
    return tuple(kept)


def write_note(transcript: Transcript, request: NoteRequest) -> Note:
    """A note of ``request.template`` in ``request.language`` from ``transcript``."""
    lexicon = lexicon_for(request.language)
    source = transcript_facts((s.text for s in transcript.segments), request.language)
    # A sentence stating a number, drug or side the transcript never said is left out (a
    # stutter removed inside a dose, a number read across two sentences): see facts.py.
    faithful = [
        c
        for c in _candidates(transcript, lexicon)
        if not unsupported(c.sentence.text, source, request.language)
    ]
    chosen = [replace(c, sentence=correct_drugs(c.sentence)) for c in _select(faithful, transcript)]
    if not any(c.part == CC for c in chosen):
        # The patient's own first complaint, else the history's first sentence (a
        # clinician's introduction of the patient says who came, not why).
        history = [c for c in chosen if c.part == HPI]
        first = next((c for c in history if c.patient), history[0] if history else None)
        if first is not None:
            chosen.insert(0, _Candidate(CC, -1, 0.0, first.sentence))
    by_part = _by_part(chosen, lexicon, request.language)
    sections = tuple(
        NoteSection(
            key=key,
            title=title(key, request.language),
            sentences=_unique(s for part in parts for s in by_part.get(part, ())),
        )
        for key, parts in SECTIONS[request.template]
    )
    return Note(
        template=request.template,
        language=request.language,
        sections=sections,
        engine=ENGINE_NAME,
    )
