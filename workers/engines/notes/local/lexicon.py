"""What the engine knows about a language, and the note parts sentences are filed into.

Everything the engine decides from words is listed in a Lexicon (``english.py``,
``spanish.py``), so a clinician can read why a sentence went where it did. Cue lists were
drawn from ACI-Bench's train and valid splits (never test1), plus common clinical phrasing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The note parts a sentence can be assigned to. Templates group them into their sections.
CC = "cc"
HPI = "hpi"
ROS = "ros"
EXAM = "exam"
RESULTS = "results"
ASSESSMENT = "assessment"
PLAN = "plan"
RESPONSE = "response"
PARTS = (CC, HPI, ROS, EXAM, RESULTS, ASSESSMENT, PLAN, RESPONSE)


# eq=False: compared and hashed by identity, so compiled patterns can be cached per lexicon.
@dataclass(frozen=True, slots=True, eq=False)
class Lexicon:
    """The language-specific knowledge of the engine."""

    #: The language's BCP-47 primary code ("en", "es").
    language: str

    #: Words and phrases that carry nothing (removed wherever they occur).
    fillers: tuple[str, ...]
    #: Whole sentences that carry nothing once lower-cased (greetings, back-channels).
    empty_sentences: frozenset[str]
    #: Phrases of a short sentence that only announces what comes next ("let's talk about my
    #: assessment and plan"); such sentences are dropped.
    transitions: tuple[str, ...]
    #: Symptoms as people name them, each with how the complaint is written from the match
    #: (``re.Match.expand`` templates: "my knee has been hurting" -> r"\1 pain").
    complaints: tuple[tuple[re.Pattern[str], str], ...]
    #: Cue phrases per note part; a sentence scores one point per cue it contains.
    cues: dict[str, tuple[str, ...]]
    #: Short answers meaning "no" and "yes".
    no_answers: tuple[str, ...]
    yes_answers: tuple[str, ...]
    #: Words that make a "no" doubtful ("no, but sometimes").
    hedges: tuple[str, ...]
    #: Question openers stripped before turning a question into a finding ("any", "do you have").
    question_openers: tuple[str, ...]
    #: Question phrasings turned into the finding's name ("le duele el pecho" -> "dolor en ...").
    finding_rewrites: dict[str, str]
    #: First-person to third-person rewrites for what the patient says (whole words).
    third_person: dict[str, str]
    #: How a finding the patient denied or confirmed is phrased.
    denies: str
    reports: str
    #: Short forms for lines of a review of systems ("Cardiovascular: Denies chest pain.").
    denies_short: str
    reports_short: str
    #: Clinician questions checking the plan, questions about questions, and assent to them.
    plan_checks: tuple[str, ...]
    question_checks: tuple[str, ...]
    assent: tuple[str, ...]
    #: What the note says when the patient assented to the plan.
    agrees: str
    #: Words (whole words or phrases) that show the patient's gender in the clinician's speech.
    female: tuple[str, ...]
    male: tuple[str, ...]
    #: Spoken forms written out (whole words): "gon na" -> "going to".
    spoken: dict[str, str]
    #: Words a sentence may open with that add nothing to a note ("and", "but").
    openers: tuple[str, ...]
    #: Sentences starting with these are addressed to a dictation assistant, not the note.
    commands: tuple[str, ...]
    #: Names a dictation assistant is called by ("dragon"). After one, even behind fillers
    #: ("okay, Dragon, show me ..."), a command verb makes the sentence a command to leave
    #: out; anything else is dictation, kept without the name ("Dragon, 48-year-old ...").
    wake_words: tuple[str, ...] = ()
    #: Verbs that open a command to a dictation assistant ("show", "finalize", "open").
    assistant_verbs: tuple[str, ...] = ()
    #: Words where unpunctuated speech (ASR output) is cut into sentences.
    breaks: tuple[str, ...] = ()
    #: Phrases that make unpunctuated clinician speech a question wherever they stand.
    inner_questions: tuple[str, ...] = ()
    #: Words that open a question, for speech without question marks.
    question_starts: tuple[str, ...] = ()
    #: Openings of a question tacked onto a statement after a comma ("she's 41, and what
    #: brings you in today"): only those that cannot open a statement's clause ("which is
    #: healing" can).
    trailing_questions: tuple[str, ...] = ()
    #: Words that open an independent clause (subject pronouns, with their contractions):
    #: after a comma, where a recognizer wrote a comma splice ("I feel tired, I don't sleep"),
    #: the sentence is cut in two. Empty for languages that drop the subject (Spanish).
    clause_subjects: tuple[str, ...] = ()
    #: Words that open a subordinate clause ("if", "when"): a sentence opening with one is
    #: not cut at its comma ("If it gets worse, you call me").
    subordinators: tuple[str, ...] = ()
    #: Words that may come before a subordinator and still leave the sentence subordinate
    #: ("And, um, if it gets worse, you call me").
    subordinate_leads: tuple[str, ...] = ()
    #: Verbs of a short reporting clause after a comma ("..., she told the nurse", "..., I
    #: think"), which belongs to the sentence before it.
    reporting_verbs: tuple[str, ...] = ()
    #: Adverbs that may stand between "I" and the verb of a ``third_person`` rewrite ("I just
    #: feel" -> "the patient just feels").
    subject_adverbs: tuple[str, ...] = ()
    #: Words a reason for the visit is never made of alone ("here for me", "seen for it last
    #: year"): pronouns and times, lower case.
    not_a_reason: frozenset[str] = frozenset()
    #: Words that may close a sentence after a comma and add nothing to a note ("I'll see you
    #: in two weeks, okay.", "nos vemos en dos semanas, vale."), and words run on at a
    #: sentence's end that never end a statement (a recognizer's "... a lot longer okay well."
    #: where the next turn's words ran on): cut from its end, unless the word before says what
    #: is "okay" ("I'm okay": ``closer_keepers``).
    closers: tuple[str, ...] = ()
    run_on_closers: tuple[str, ...] = ()
    closer_keepers: frozenset[str] = frozenset()
    #: Words after which a word of ``third_person`` stays as said: in Spanish an article or
    #: possessive before a noun ("en mi trabajo" is not "en su trabaja"), in English the
    #: auxiliary of a question ("can I exercise" is not "can the patient exercises").
    keep_after: frozenset[str] = frozenset()
    #: Announcements left out only when they are nearly the whole sentence (six words or
    #: fewer): "let me check it out", never "let me check a urine culture and a thyroid panel".
    brief_transitions: tuple[str, ...] = ()
    #: Words that deny what follows them in a clause ("no", "never", "nunca"): a symptom named
    #: within a few words after one is no chief complaint ("I have no pain in my chest").
    negations: frozenset[str] = frozenset()
