"""Rewrites that turn conversation into note phrasing, word for word where it matters.

Numbers, doses and drug names are never touched: rewrites replace only pronouns and the
verbs that go with them, and the question-and-answer rule copies the clinician's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from core.domain import Speaker

from .lexicon import Lexicon
from .sentences import Unit, clean
from .units import Reply

_WORD = re.compile(r"[\w'-]+")
_SENTENCE = re.compile(r"[.?!]")

# A finding must name something clinical before a "no" becomes "denies ...": "any questions?"
# answered "no" is not a finding.
_FINDING_WORDS = (
    "pain",
    "ache",
    "swelling",
    "bleeding",
    "blood",
    "trouble",
    "difficulty",
    "problem",
    "issue",
    "symptom",
    "injur",
    "fall",
    "allerg",
    "smok",
    "alcohol",
    "drink",
    "numb",
    "tingl",
    "weak",
    "fever",
    "chill",
    "nause",
    "vomit",
    "diarrh",
    "constipat",
    "cough",
    "breath",
    "dizz",
    "headache",
    "rash",
    "weight",
    "sweat",
    "palpitat",
    "fatigue",
    "tired",
    "sleep",
    "appetite",
    "congest",
    "urin",
    "stool",
    "bowel",
    "vision",
    "hearing",
    "depress",
    "anxi",
    "mood",
    "harm",
    "dolor",
    "duele",
    "pecho",
    "fiebre",
    "náusea",
    "vómito",
    "tos",
    "mareo",
    "sangr",
    "aire",
    "hinchaz",
    "cansancio",
)
# A finding left with a question word in it was not a simple "any X?" question.
_QUESTION_WORDS = re.compile(
    r"\b(?:what|how|why|when|where|which|who|do|does|did|is it|are|about|qué|cómo|cuándo)\b"
)
_NOT_FINDINGS = ("question", "concern", "anything else", "make sense", "sound good", "pregunta")


@cache
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![\w'-])(?:{names})(?![\w'-])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Pronouns:
    """How the patient is referred to in the note."""

    subject: str
    object: str
    possessive: str

    @staticmethod
    def guess(clinician_text: str, lexicon: Lexicon) -> Pronouns:
        """From the clinician's words: "she", "her", "female" ... else neutral."""
        female = len(_words_pattern(lexicon.female).findall(clinician_text))
        male = len(_words_pattern(lexicon.male).findall(clinician_text))
        if female > male:
            return Pronouns("she", "her", "her")
        if male > female:
            return Pronouns("he", "him", "his")
        return Pronouns("the patient", "the patient", "the patient's")


@cache
def _rewrite_pattern(keys: tuple[str, ...], adverbs: tuple[str, ...] = ()) -> re.Pattern[str]:
    """Any key as a whole phrase (group ``key``) or, for keys that start with "I", "I
    <adverb> <rest of the key>" (groups ``adverb`` and ``rest``: "I just feel")."""
    names = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    rests = "|".join(
        re.escape(k[2:]) for k in sorted(keys, key=len, reverse=True) if k.startswith("i ")
    )
    ways = "|".join(re.escape(a) for a in adverbs)
    adverbial = rf"i\s+(?P<adverb>{ways})\s+(?P<rest>{rests})|" if ways and rests else ""
    return re.compile(rf"(?<![\w'-])(?:{adverbial}(?P<key>{names}))(?![\w'-])", re.IGNORECASE)


def third_person(text: str, lexicon: Lexicon, pronouns: Pronouns) -> str:
    """ "I have been taking ..." -> "The patient has been taking ..."; an adverb between
    "I" and the verb stays there ("I still have" -> "the patient still has")."""
    table = lexicon.third_person
    pattern = _rewrite_pattern(tuple(table), lexicon.subject_adverbs)
    first = True

    def replace(match: re.Match[str]) -> str:
        nonlocal first
        found = match.groupdict()
        if lexicon.keep_after:
            before = match.string[: match.start()].split()
            if before and before[-1].lower().strip(",;:¿") in lexicon.keep_after:
                return match.group(0)  # a noun ("mi trabajo"), a question ("can I ...")
        if found["key"] is not None:
            template = table[found["key"].lower()]
        else:  # "I <adverb> <rest>": the adverb goes after the subject
            template = table[f"i {found['rest'].lower()}"]
            template = template.replace("{subj} ", f"{{subj}} {found['adverb']} ", 1)
        subject = "the patient" if first else pronouns.subject
        first = False
        return template.format(subj=subject, obj=pronouns.object, poss=pronouns.possessive)

    return " ".join(pattern.sub(replace, text).split())


def second_to_third(text: str, pronouns: Pronouns, lexicon: Lexicon) -> str:
    """The clinician's "your lungs sound clear" -> "her lungs sound clear"."""
    if lexicon.denies.startswith("Niega"):
        return text
    text = re.sub(r"\byour\b", pronouns.possessive, text, flags=re.IGNORECASE)
    reflexive = {"her": "herself", "him": "himself"}.get(pronouns.object, "themselves")
    text = re.sub(r"\byourself\b", reflexive, text, flags=re.IGNORECASE)
    for said, written in _YOU_VERBS.items():

        def subject(match: re.Match[str], verb: str = written) -> str:
            return " ".join(filter(None, (pronouns.subject, match["adverb"], verb)))

        text = _you_verb(said, lexicon.subject_adverbs).sub(subject, text)
    text = re.sub(r"\byou're\b", f"{pronouns.subject} is", text, flags=re.IGNORECASE)
    text = re.sub(r"\byou've\b", f"{pronouns.subject} has", text, flags=re.IGNORECASE)
    return _YOU.sub(lambda m: m.group(1) + _you(m, pronouns), text)


@cache
def _you_verb(said: str, adverbs: tuple[str, ...]) -> re.Pattern[str]:
    """``said`` ("you have", "you'll"), also with an adverb between "you" and the verb ("you
    also have"), and with a contraction spaced as ACI-Bench spaces it ("you 'll")."""
    verb = said.removeprefix("you")
    ways = "|".join(re.escape(a) for a in adverbs) or "(?!)"
    gap = r"\s*" if verb.startswith("'") else r"\s+"
    return re.compile(
        rf"\byou(?:\s+(?P<adverb>{ways}))?{gap}{re.escape(verb.lstrip())}\b", re.IGNORECASE
    )


# Verbs after "you" that change with a third-person subject. A contraction of "you" is always
# a subject ("in the meantime you'll go to therapy" is not "him'll").
_YOU_VERBS = {
    "you'll": "will",
    "you'd": "would",
    "you haven't": "has not",
    "you aren't": "is not",
    "you weren't": "was not",
    "you have": "has",
    "you are": "is",
    "you were": "was",
    "you do not": "does not",
    "you don't": "does not",
    "you do": "does",
    "you need": "needs",
    "you want": "wants",
    "you take": "takes",
    "you feel": "feels",
    "you get": "gets",
    "you go": "goes",
    "you seem": "seems",
    "you say": "says",
    "you said": "said",
    "you know": "knows",
}

# "you" is a subject at the start of a clause, an object elsewhere ("refer you to").
_YOU = re.compile(r"(^|\W)you\b", re.IGNORECASE)
_CLAUSE_OPENERS = frozenset(
    {
        "and",
        "that",
        "if",
        "when",
        "because",
        "so",
        "but",
        "then",
        "as",
        "since",
        "while",
        "until",
        "before",
        "after",
        "where",
        "know",
        "think",
        "hope",
        "guess",
        "see",
        "said",
    }
)
# A verb right after "you" makes it the subject ("I know you did", "if you can", "luckily
# you didn't break anything").
_SUBJECT_VERBS = frozenset(
    {
        "did",
        "didn't",
        "can't",
        "cannot",
        "won't",
        "wouldn't",
        "couldn't",
        "shouldn't",
        "hadn't",
        "fell",
        "slipped",
        "noticed",
        "stopped",
        "came",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "must",
        "had",
        "started",
        "tried",
        "mentioned",
        "noted",
        "told",
        "took",
        "went",
        "got",
        "felt",
        "saw",
        "also",
        "still",
        "just",
        "really",
        "already",
        "never",
        "always",
        "usually",
    }
)


def _you(match: re.Match[str], pronouns: Pronouns) -> str:
    before = match.string[: match.start(0) + len(match.group(1))].rstrip()
    previous = before.split()[-1].lower() if before.split() else ""
    after = match.string[match.end(0) :].split()
    following = after[0].lower().strip(",.;") if after else ""
    if (
        not previous
        or previous.endswith((",", ";", ":"))
        or previous in _CLAUSE_OPENERS
        or following in _SUBJECT_VERBS
    ):
        return pronouns.subject
    return pronouns.object


def _starts_with(text: str, answers: tuple[str, ...]) -> bool:
    words = " ".join(_WORD.findall(text.lower()))
    return any(words == a or words.startswith(a + " ") for a in answers)


def _hedged(answer: str, lexicon: Lexicon) -> bool:
    """A "no, but sometimes ..." answer: not a plain denial."""
    first = " ".join(_WORD.findall(_SENTENCE.split(answer.lower(), maxsplit=1)[0]))
    return any(f" {word} " in f" {first} " for word in lexicon.hedges)


def _finding(question: str, lexicon: Lexicon, pronouns: Pronouns) -> str | None:
    """The thing asked about in a yes/no question, or None when it asks about no finding."""
    text = clean(question.strip(" ?¿"), lexicon).lower().lstrip("¿¡ ")
    if any(w in text for w in _NOT_FINDINGS):
        return None
    changed = True
    while changed:
        changed = False
        for opener in lexicon.question_openers:
            if text.startswith(opener + " "):
                text = text[len(opener) + 1 :].lstrip(" ,")
                changed = True
    for said, named in lexicon.finding_rewrites.items():
        if text.startswith(said + " "):
            text = named + text[len(said) :]
            break
    # "are you still smoking" -> "still smoking", not "being still smoking".
    text = re.sub(r"^being ((?:\w+ly |still |ever )?\w+ing)\b", r"\1", text)
    text = re.sub(r"(?<=, )(?:any|or any|and any) ", "", text)
    text = re.sub(r"\b(?:or|and) any\b", "or", text)
    if _QUESTION_WORDS.search(text) or not any(w in text for w in _FINDING_WORDS):
        return None
    words = _WORD.findall(text)
    if not 1 <= len(words) <= 14:
        return None
    return second_to_third(text, pronouns, lexicon).strip(" ,.")


@dataclass(frozen=True, slots=True)
class Answered:
    """A finding from a yes/no question and its answer."""

    finding: str
    evidence: tuple[int, int]
    denied: bool
    index: int


def _patient_reply(unit: Unit, replies: dict[int, Reply]) -> Reply | None:
    """The patient's reply to a clinician's question, said in a segment of its own; None
    when ``unit`` is no such question or the next sentence is not such a reply."""
    if not unit.question or unit.speaker != Speaker.CLINICIAN:
        return None
    reply = replies.get(unit.index)
    if reply is None or reply.speaker != Speaker.PATIENT or reply.segment == unit.segment:
        return None
    return reply


def answered_questions(
    units: list[Unit], replies: dict[int, Reply], lexicon: Lexicon, pronouns: Pronouns
) -> list[Answered]:
    """Clinician questions answered by a bare yes or no, as "denies X" / "reports X".

    ``replies`` holds the sentence said right after each unit, as said: a bare "Yes." is no
    unit (cleaning drops "yes" as a filler), but it is the answer.
    """
    found: list[Answered] = []
    for unit in units:
        reply = _patient_reply(unit, replies)
        if reply is None:
            continue
        denied = _starts_with(reply.said, lexicon.no_answers)
        confirmed = not denied and _starts_with(reply.said, lexicon.yes_answers)
        # A hedged "no" is not a denial; a false "denies" is the worst error a note can make.
        if (not denied and not confirmed) or (denied and _hedged(reply.said, lexicon)):
            continue
        finding = _finding(unit.text, lexicon, pronouns)
        if finding is None:
            continue
        found.append(
            Answered(
                finding=finding,
                evidence=(unit.segment, reply.segment),
                denied=denied,
                index=unit.index,
            )
        )
    return found


def agreement(units: list[Unit], replies: dict[int, Reply], lexicon: Lexicon) -> Answered | None:
    """The patient's assent when the clinician checked the plan ("does that sound good?").

    Only the last such exchange counts; "any questions?" answered "no" counts as assent.
    """
    found: Answered | None = None
    for unit in units:
        reply = _patient_reply(unit, replies)
        if reply is None:
            continue
        asked = unit.text.lower()
        if not any(cue in asked for cue in lexicon.plan_checks):
            continue
        questions = any(cue in asked for cue in lexicon.question_checks)
        if _starts_with(reply.said, lexicon.assent) or (
            questions and _starts_with(reply.said, lexicon.no_answers)
        ):
            found = Answered("", (unit.segment, reply.segment), False, unit.index)
    return found
