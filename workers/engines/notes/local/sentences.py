"""Transcript segments cut into clean sentences ("units") that remember where they came from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from core.domain import Speaker

from .drugs import drugs_in
from .lexicon import Lexicon
from .numbers import digits

# Fillers removed wherever they stand: they never carry meaning.
_ALWAYS = frozenset({"um", "umm", "uh", "uhm", "hmm", "mm-hmm", "mhm", "uh-huh", "eh", "em", "mmm"})
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_REPEAT = re.compile(r"\b(\w+(?:'\w+)?)(?:\s*,)?\s+\1\b", re.IGNORECASE)
_CUT_WORD = re.compile(r"\b\w+-(?=\s|$)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.?!;:%])")
_DOUBLE_COMMA = re.compile(r"(,\s*)+,")
#: A comma left before the end mark where a filler between them went ("two weeks, okay.").
_COMMA_BEFORE_END = re.compile(r",\s*([.?!])")
_NUMBER = re.compile(r"\d")
_PUNCTUATED = re.compile(r"[.?!]")
# Pieces of unpunctuated speech shorter than this are joined to the next one.
_MIN_ASR_WORDS = 6
# Sentences this short that hold a transition phrase only announce what comes next, unless
# they name a drug or a number. Chosen on ACI-Bench valid (12 -> 14, 16, 18, 20 words: valid
# text ROUGE-1 51.47 -> 51.79, 51.83, 51.80, 51.80; eval/README.md).
_TRANSITION_WORDS = 16
#: Most words of a sentence a brief announcement (``Lexicon.brief_transitions``) is left out of.
_BRIEF_WORDS = 6
# Punctuated sentences longer than this are cut as if unpunctuated.
_LONG_SENTENCE = 40
# Each side of a comma splice keeps at least this many words to be cut off as a sentence.
_SPLICE_WORDS = 4
_WORDS = re.compile(r"[\w'-]+")


@dataclass(frozen=True, slots=True)
class Unit:
    """One sentence of one segment, cleaned, with its segment id and speaker."""

    index: int
    segment: int
    speaker: Speaker
    text: str
    question: bool
    #: Every segment the sentence spans (a sentence cut across two ASR segments has two).
    segments: tuple[int, ...] = ()

    @property
    def words(self) -> list[str]:
        return _WORDS.findall(self.text.lower())


@cache
def _boundary_fillers(fillers: tuple[str, ...]) -> re.Pattern[str]:
    """Fillers at the start of a sentence or between commas ("so , um , you know , the pain")."""
    names = "|".join(sorted((re.escape(f) for f in fillers), key=len, reverse=True))
    return re.compile(rf"(^|,)\s*(?:{names})\s*(?=,|[.?!]|$)", re.IGNORECASE)


@cache
def _spoken_pattern(lexicon: Lexicon) -> re.Pattern[str]:
    names = "|".join(re.escape(k) for k in sorted(lexicon.spoken, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{names})(?![\w'])", re.IGNORECASE)


@cache
def _openers_pattern(lexicon: Lexicon) -> re.Pattern[str]:
    names = "|".join(re.escape(k) for k in sorted(lexicon.openers, key=len, reverse=True))
    return re.compile(rf"^(?:{names})\b\s*,?", re.IGNORECASE)


def is_command(text: str, lexicon: Lexicon) -> bool:
    """Speech addressed to a dictation assistant ("show me the x-ray", "dragon, finalize")."""
    lowered = text.lower()
    if any(re.match(rf"{re.escape(w)}\b", lowered) for w in lexicon.wake_words):
        return _dictated(text, lexicon) is None
    return any(lowered.startswith(c) for c in lexicon.commands)


def _dictated(text: str, lexicon: Lexicon) -> str | None:
    """A cleaned sentence without the assistant's name it opens with, or None when it is a
    command to the assistant ("dragon, show me the x-ray", a bare "dragon?")."""
    lowered = text.lower()
    for wake in sorted(lexicon.wake_words, key=len, reverse=True):
        if re.match(rf"{re.escape(wake)}\b", lowered):
            rest = text[len(wake) :].lstrip(" ,.?!")
            low = rest.lower()
            if not _WORDS.search(rest) or any(
                re.match(rf"{re.escape(v)}(?!\w)", low) for v in lexicon.assistant_verbs
            ):
                return None
            return rest
    return text


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
    text = digits(text, lexicon.language)
    text = _spoken_pattern(lexicon).sub(lambda m: lexicon.spoken[m.group(0).lower()], text)
    openers = _openers_pattern(lexicon)
    previous = None
    while previous != text:
        previous = text
        text = openers.sub("", text).strip(" ,")
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _DOUBLE_COMMA.sub(",", text)
    text = _COMMA_BEFORE_END.sub(r"\1", text)
    text = " ".join(text.split()).strip(" ,;")
    return without_closers(text, lexicon)


@cache
def _closers_pattern(lexicon: Lexicon) -> re.Pattern[str]:
    closers = (*lexicon.closers, *lexicon.run_on_closers)
    names = "|".join(re.escape(k) for k in sorted(closers, key=len, reverse=True))
    return re.compile(rf"([\w'\u2019]+)?(\s*(,)?\s+)(?P<closer>{names})\s*([.?!]?)$", re.IGNORECASE)


def without_closers(text: str, lexicon: Lexicon) -> str:
    """``text`` without the words that close it and add nothing: a ``Lexicon.closers`` after a
    comma ("... in two weeks, vale."), a ``Lexicon.run_on_closers`` even without one ("... a
    lot longer okay well."). A closer without a comma may say how something is ("her labs
    came back okay") and stays, as does one after a word that says what is okay ("I'm okay")."""
    if not lexicon.closers and not lexicon.run_on_closers:
        return text
    run_on = {c.lower() for c in lexicon.run_on_closers}
    pattern = _closers_pattern(lexicon)
    while True:
        match = pattern.search(text)
        if match is None:
            return text
        before = (match.group(1) or "").lower().replace("\u2019", "'")
        if before in lexicon.closer_keepers:
            return text
        if match.group(3) is None and match.group("closer").lower() not in run_on:
            return text
        head = text[: match.start(2)].rstrip(" ,;")
        if len(head.split()) < 2 or head[-1:] in (".", "?", "!"):
            return text
        text = head + match.group(5)


def without_inner_commands(text: str, lexicon: Lexicon) -> str:
    """A sentence without a command to the dictation assistant said inside it, between
    commas ("Let's look at her x-ray, hey, Dragon, show me the last x-ray, so what I'm
    seeing ..."): the assistant's name goes, and the clause after it too when it is a
    command; dictation after the name stays ("..., Dragon, 48-year-old female")."""
    clauses = text.split(",")
    if len(clauses) < 2 or not lexicon.wake_words:
        return text
    lows = [clause.strip().lower() for clause in clauses]
    kept: list[str] = []
    called = False  # the clause before named the assistant
    for index, (clause, low) in enumerate(zip(clauses, lows, strict=True)):
        if called and _addressed(low, lexicon):
            called = False
            continue
        called = False
        named = _wake_in(low, lexicon)
        if named is not None:
            rest = low[len(named) :].strip(" .?!")
            if not rest:  # the name alone ("Dragon"): a command may follow it
                called = True
                continue
            if _addressed(rest, lexicon):
                continue
        nxt = lows[index + 1] if index + 1 < len(lows) else ""
        if low in _CALLS and _wake_in(nxt, lexicon) is not None:
            continue  # "hey" before the name
        kept.append(clause)
    result = ",".join(kept).strip(" ,")
    if result and result[-1] not in ".?!" and text.rstrip()[-1:] in (".", "?", "!"):
        result += text.rstrip()[-1]
    return result


def without_trailing_question(text: str, lexicon: Lexicon) -> str:
    """A statement without the question tacked onto its end after a comma ("I'm seeing Ms.
    Hill, she's a 41-year-old female, and what brings you in to me." loses its last clause);
    the sentence as it is when nothing of a statement would be left."""
    if not lexicon.trailing_questions:
        return text
    closing = _closing_question(lexicon).search(text)
    if closing is not None and len(text[: closing.start()].split()) >= _MIN_STATEMENT_WORDS:
        text = text[: closing.start()].rstrip(" ,") + "."
    if "," not in text:
        return text
    head, _, tail = text.rpartition(",")
    low = tail.strip().lower()
    for opener in lexicon.openers:
        if low.startswith(f"{opener} "):
            low = low[len(opener) + 1 :]
            break
    if not any(re.match(rf"{re.escape(q)}\b", low) for q in lexicon.trailing_questions):
        return text
    if len(head.split()) < _MIN_STATEMENT_WORDS:
        return text
    return head.rstrip(" ,") + "."


@cache
def _closing_question(lexicon: Lexicon) -> re.Pattern[str]:
    """The visit's closing question at a sentence's end, with or without a comma before it
    ("... in 2 weeks to get an x-ray any questions for me.")."""
    closing = [q for q in lexicon.trailing_questions if q.split()[-1] in _CLOSING_WORDS]
    names = "|".join(re.escape(q) for q in closing) or "(?!)"
    return re.compile(rf"[\s,]+(?:{names})\b[^,.?!]*[.?!]?$", re.IGNORECASE)


#: Last words of the questions that close a visit ("any questions", "alguna pregunta").
_CLOSING_WORDS = frozenset({"questions", "pregunta", "preguntas"})

#: Words a statement keeps for its trailing question to be cut off.
_MIN_STATEMENT_WORDS = 4

#: Words said to call an assistant before its name ("hey, Dragon").
_CALLS = frozenset({"hey", "okay", "ok"})


def _wake_in(low: str, lexicon: Lexicon) -> str | None:
    for wake in sorted(lexicon.wake_words, key=len, reverse=True):
        if re.match(rf"{re.escape(wake)}\b", low):
            return wake
    return None


def _addressed(low: str, lexicon: Lexicon) -> bool:
    return any(re.match(rf"{re.escape(v)}(?!\w)", low) for v in lexicon.assistant_verbs)


def unit_text(said: str, lexicon: Lexicon) -> str | None:
    """A sentence as said, cleaned for the note; None when it holds nothing for the note (a
    command to a dictation assistant, only fillers)."""
    if is_command(said, lexicon):
        return None
    # Checked again once cleaned: "okay, Dragon, show me ..." opens with a filler.
    text = _dictated(without_inner_commands(clean(said, lexicon), lexicon), lexicon) or ""
    text = without_trailing_question(text, lexicon)
    if not text or not _WORDS.search(text):
        return None
    return text


def split_sentences(text: str, lexicon: Lexicon) -> list[str]:
    """The sentences of one turn's text, cut as the note engine cuts them."""
    return [sentence for sentence, _ in sentences_of(text, lexicon)]


@cache
def _asr_patterns(lexicon: Lexicon) -> tuple[re.Pattern[str], re.Pattern[str]]:
    breaks = "|".join(re.escape(b) for b in sorted(lexicon.breaks, key=len, reverse=True))
    lead = "|".join(
        re.escape(b) for b in sorted({*lexicon.breaks, *lexicon.openers}, key=len, reverse=True)
    )
    starts = "|".join(re.escape(q) for q in lexicon.question_starts)
    return (
        re.compile(rf"\s+(?=(?:{breaks})\b)", re.IGNORECASE),
        re.compile(rf"^(?:(?:{lead})\s+)*(?:{starts})\b", re.IGNORECASE),
    )


@cache
def _splice_patterns(
    lexicon: Lexicon,
) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]] | None:
    if not lexicon.clause_subjects:
        return None

    def names(words: tuple[str, ...]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) or "(?!)"

    subjects = names(lexicon.clause_subjects)
    leads = rf"(?:(?:{names(lexicon.subordinate_leads)})\b\s*,?\s*)*"
    return (
        re.compile(rf",\s+(?=(?:{subjects})(?![\w']))", re.IGNORECASE),
        re.compile(rf"^\s*{leads}(?:{names(lexicon.subordinators)})\b", re.IGNORECASE),
        re.compile(
            rf"^(?:{subjects})\s+(?:\w+\s+)?(?:{names(lexicon.reporting_verbs)})\b"
            rf"(?:\W+\w+){{0,3}}\W*$",
            re.IGNORECASE,
        ),
    )


def cut_splices(sentence: str, lexicon: Lexicon) -> list[str]:
    """A statement cut where a comma joins two independent clauses ("I feel tired, I don't
    sleep" -> "I feel tired" and "I don't sleep"; the note adds the full stop): before a
    subject pronoun after a comma, when both sides keep a few words, the part before is not
    a subordinate clause ("If it gets worse, you call me" stays whole) and the part after is
    not a short reporting clause ("..., she told the nurse"). Each piece is a substring of
    the sentence as said. Languages without ``clause_subjects`` are not cut.
    """
    patterns = _splice_patterns(lexicon)
    if patterns is None:
        return [sentence]
    splice, subordinate, reporting = patterns
    pieces: list[str] = []
    last = 0
    for match in splice.finditer(sentence):
        head, tail = sentence[last : match.start()], sentence[match.end() :]
        if len(head.split()) < _SPLICE_WORDS or len(tail.split()) < _SPLICE_WORDS:
            continue
        if subordinate.match(head) or reporting.match(tail):
            continue
        pieces.append(head.strip())  # as said, so evidence finds it in the segments' text
        last = match.end()
    pieces.append(sentence[last:].strip())
    return pieces


def sentences_of(text: str, lexicon: Lexicon) -> list[tuple[str, bool]]:
    """A segment's sentences and whether each is a question.

    Punctuated text splits at full stops. ASR output often has none, so it is cut before
    discourse words ("okay", "so", "now" ...) into pieces of at least a few words, and a piece
    is a question when it opens like one ("do you", "any", "how"). Statements are then cut
    at comma splices (:func:`cut_splices`).
    """
    return [
        (piece, False) if not question else (sentence, True)
        for sentence, question in _sentences_of(text, lexicon)
        for piece in ([sentence] if question else cut_splices(sentence, lexicon))
    ]


def _sentences_of(text: str, lexicon: Lexicon) -> list[tuple[str, bool]]:
    text = text.strip()
    if _PUNCTUATED.search(text):
        found: list[tuple[str, bool]] = []
        for sentence in _SENTENCE_END.split(text):
            # A run-on of ASR words between two stray full stops is cut like ASR.
            if len(sentence.split()) > _LONG_SENTENCE:
                found.extend(_unpunctuated(sentence, lexicon))
            else:
                found.append((sentence, sentence.rstrip().endswith("?")))
        return found
    return _unpunctuated(text, lexicon)


def _unpunctuated(text: str, lexicon: Lexicon) -> list[tuple[str, bool]]:
    breaks, question = _asr_patterns(lexicon)
    pieces: list[str] = []
    for chunk in breaks.split(text):
        if pieces and len(pieces[-1].split()) < _MIN_ASR_WORDS:
            pieces[-1] = f"{pieces[-1]} {chunk}"
        else:
            pieces.append(chunk)
    inner = _inner_question_pattern(lexicon)
    return [(p, bool(question.match(p) or inner.search(p))) for p in pieces]


@cache
def _inner_question_pattern(lexicon: Lexicon) -> re.Pattern[str]:
    names = "|".join(re.escape(q) for q in lexicon.inner_questions) or "(?!)"
    return re.compile(rf"\b(?:{names})\b", re.IGNORECASE)


def is_empty(unit: Unit, lexicon: Lexicon) -> bool:
    """A greeting, a back-channel or a sentence too short to hold a finding."""
    bare = unit.text.lower().strip(" .?!,")
    if bare in lexicon.empty_sentences:
        return True
    if len(unit.words) <= _TRANSITION_WORDS:
        lowered = unit.text.lower()
        brief = len(unit.words) <= _BRIEF_WORDS and any(
            phrase in lowered for phrase in lexicon.brief_transitions
        )
        if brief or any(phrase in lowered for phrase in lexicon.transitions):
            # "Let me go ahead and start you on metformin" is a plan, not a transition.
            return not _NUMBER.search(unit.text) and not drugs_in(unit.text)
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
