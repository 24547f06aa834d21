"""English: the engine's word lists for notes in English (the default).

The lists are filed by the step that reads them: ``english_sentences.py`` (cutting speech
into sentences), ``english_cues.py`` (filing sentences into note parts) and this module
(rewriting and phrasing what the note says), which puts them together as :data:`EN`.
"""

from __future__ import annotations

import re

from .english_cues import CUES
from .english_sentences import (
    ASSISTANT_VERBS,
    BREAKS,
    BRIEF_TRANSITIONS,
    CLAUSE_SUBJECTS,
    CLOSER_KEEPERS,
    CLOSERS,
    COMMANDS,
    EMPTY_SENTENCES,
    FILLERS,
    INNER_QUESTIONS,
    OPENERS,
    QUESTION_STARTS,
    REPORTING_VERBS,
    RUN_ON_CLOSERS,
    SPOKEN,
    SUBORDINATE_LEADS,
    SUBORDINATORS,
    TRAILING_QUESTIONS,
    TRANSITIONS,
    WAKE_WORDS,
)
from .lexicon import Lexicon

_EN_SUBJECT_ADVERBS = (
    "just", "really", "still", "also", "never", "always", "usually", "sometimes", "often",
    "only", "actually", "definitely", "even", "mostly", "normally", "generally",
)  # fmt: skip

_EN_THIRD_PERSON = {
    "i'm": "{subj} is",
    "i am": "{subj} is",
    "i've": "{subj} has",
    "i have": "{subj} has",
    "i was": "{subj} was",
    "i'd": "{subj} would",
    "i'll": "{subj} will",
    "i don't": "{subj} does not",
    "i do not": "{subj} does not",
    "i didn't": "{subj} did not",
    "i can't": "{subj} cannot",
    "i cannot": "{subj} cannot",
    "i haven't": "{subj} has not",
    "i wasn't": "{subj} was not",
    "i do": "{subj} does",
    "i get": "{subj} gets",
    "i go": "{subj} goes",
    "i take": "{subj} takes",
    "i feel": "{subj} feels",
    "i think": "{subj} thinks",
    "i try": "{subj} tries",
    "i need": "{subj} needs",
    "i want": "{subj} wants",
    "i know": "{subj} knows",
    "i use": "{subj} uses",
    "i say": "{subj} says",
    "i see": "{subj} sees",
    "i like": "{subj} likes",
    "i notice": "{subj} notices",
    "i guess": "{subj} guesses",
    "i work": "{subj} works",
    "i walk": "{subj} walks",
    "i eat": "{subj} eats",
    "i drink": "{subj} drinks",
    "i sleep": "{subj} sleeps",
    "i wake": "{subj} wakes",
    "i try to": "{subj} tries to",
    "i": "{subj}",
    "me": "{obj}",
    "my": "{poss}",
    "mine": "{poss}s",
    "myself": "{obj}self",
    "we've": "they have",
    "we're": "they are",
}

#: Verbs whose base form is never their past ("I climb", not "I hurt"): after "I" they read
#: in the third person ("when I climb stairs" -> "when the patient climbs stairs").
_EN_REGULAR_VERBS = """
climb cough bend lift breathe sit stand exercise smoke swallow move push pull reach kneel squat
type drive play stretch bike swim wear carry miss forget remember live check lose pee urinate
vomit wheeze snore bruise itch ache sneeze limp struggle avoid rest
"""


def _third(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return f"{verb}es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return f"{verb[:-1]}ies"
    return f"{verb}s"


for _verb in _EN_REGULAR_VERBS.split():
    _EN_THIRD_PERSON.setdefault(f"i {_verb}", f"{{subj}} {_third(_verb)}")

#: Parts of the body a complaint may name ("pain in my lower back" -> "Lower back pain.").
_BODY_PART_WORDS = """
finger fingers thumb hand hands wrist wrists arm arms elbow elbows shoulder shoulders neck back
chest abdomen stomach belly side flank groin hip hips leg legs thigh knee knees calf ankle ankles
foot feet heel toe toes head ear ears eye eyes throat jaw tooth teeth pelvis ribs rib spine buttock
"""
_BODY_PARTS = "|".join(_BODY_PART_WORDS.split())

#: Words before "I" that make it a question's subject, left as said ("can I exercise").
QUESTION_AUXILIARIES = "can could should would will do did does may might must shall"

#: Words that deny the symptom named a few words after them.
NEGATIONS = (
    "no not never without denies deny don't didn't doesn't haven't hasn't isn't wasn't none nor"
)

#: Pronouns and times a reason for the visit is never made of alone.
NOT_A_REASON = """
you him her them this that these those it me us one all today yesterday now last next year
years month months week weeks day days ago before again while time morning evening night
"""

EN = Lexicon(
    language="en",
    fillers=FILLERS,
    empty_sentences=EMPTY_SENTENCES,
    transitions=TRANSITIONS,
    brief_transitions=BRIEF_TRANSITIONS,
    negations=frozenset(NEGATIONS.split()),
    keep_after=frozenset(QUESTION_AUXILIARIES.split()),
    complaints=(
        (
            # "pain on the right side of my abdomen" -> "Right abdomen pain."
            re.compile(
                r"\b(pain|ache|swelling|numbness) (?:in|at|on|over|around) the (left|right)"
                rf"(?:-hand)? side of (?:my|your|his|her|the) ({_BODY_PARTS})\b",
                re.IGNORECASE,
            ),
            r"\2 \3 \1",
        ),
        (
            # "pain at the end of my right middle finger" -> "Right middle finger pain."
            re.compile(
                r"\b(pain|ache|swelling|numbness) (?:in|at|on|over|around)"
                r"(?: the (?:[a-z]+ ){1,2}of)? (?:my|your|his|her|the) "
                rf"((?:(?:left|right)\s+)?(?:[a-z]+\s+)?(?:{_BODY_PARTS}))\b",
                re.IGNORECASE,
            ),
            r"\2 \1",
        ),
        (
            re.compile(
                r"\b((?:(?:left|right)\s+)?(?!(?:it|that|this|which|what)\b)\w+)"
                r" (?:has been|have been|is|are|was|keeps|started) (?:hurting|bothering)",
                re.IGNORECASE,
            ),
            r"\1 pain",
        ),
        (
            re.compile(
                r"\b((?:(?:left|right|lower|upper|low|bad|severe|chronic|sharp)\s+)?"
                # Never a function word: "a lot of pain" is "Pain.", not "Of pain.".
                # Nor a verb: "I also have pain" is "Pain.", not "Have pain.". A hyphenated
                # word is one: "a low-grade fever" is "Low-grade fever.", not "Grade fever.".
                r"(?:(?!(?:i|you|we|they|he|she|my|your|his|her|the|this|that|some|a|any|no"
                r"|not|of|in|on|at|to"
                r"|with|and|or|for|from|lot|bit|little|much|more|less|so|such|some"
                r"|have|has|had|having|was|were|is|are|am|be|been|being|get|gets|got"
                r"|getting|feel|feels|felt|feeling|also|still|just|really|very)\b)"
                r"[\w-]+\s+)?"
                r"(?:pain|ache|headaches?|cough|rash|numbness|swelling|fevers?|bleeding"
                r"|dizziness))\b",
                re.IGNORECASE,
            ),
            r"\1",
        ),
    ),
    cues=CUES,
    no_answers=("no", "nope", "not really", "never", "none", "nah", "i don't", "no ,", "not"),
    yes_answers=("yes", "yeah", "yep", "mm-hmm", "uh-huh", "i do", "sometimes", "a little"),
    hedges=("but", "sometimes", "except", "maybe", "actually", "not sure", "occasionally"),
    question_openers=(
        "have you had any",
        "have you noticed any",
        "have you experienced any",
        "have you been having any",
        "were you having any",
        "are you having any",
        "are you experiencing any",
        "do you have any",
        "did you have any",
        "any other",
        "any",
        "no",
        "and",
        "or",
    ),
    # A question the openers leave whole reads as a gerund after "denies"/"reports": "have
    # you ever injured this arm" -> "The patient denies having ever injured this arm" (it was
    # "denies have the patient ever injured this arm"). First match first.
    finding_rewrites={
        "have you been having": "having",
        "have you been": "having been",
        "have you": "having",
        "were you having": "having",
        "are you having": "having",
        "did you ever have": "ever having",
        "did you have": "having",
        "do you ever have": "ever having",
        "do you have": "having",
        "do you feel": "feeling",
        "do you get": "getting",
        "are you": "being",
        "were you": "being",
    },
    third_person=_EN_THIRD_PERSON,
    subject_adverbs=_EN_SUBJECT_ADVERBS,
    denies="The patient denies {}.",
    reports="The patient reports {}.",
    denies_short="Denies {}.",
    reports_short="Reports {}.",
    plan_checks=(
        "sound good",
        "sounds good",
        "sound okay",
        "sounds okay",
        "sound like a plan",
        "sound like a good plan",
        "questions",
        "make sense",
        "okay with",
        "is that okay",
        "that okay",
        "fair",
        "alright with",
        "all right with",
    ),
    question_checks=("questions",),
    assent=(
        "yes",
        "yeah",
        "yep",
        "okay",
        "ok",
        "sure",
        "sounds good",
        "that sounds good",
        "alright",
        "all right",
        "absolutely",
        "definitely",
        "of course",
        "perfect",
        "great",
        "that's fine",
        "fine",
        "mm-hmm",
        "uh-huh",
        "it does",
        "that does",
    ),
    agrees="The patient understands and agrees with the recommended medical treatment plan.",
    female=("she", "her", "hers", "herself", "female", "woman", "lady", "mrs", "ms", "miss"),
    male=("he", "his", "him", "himself", "male", "man", "gentleman", "mr", "mister", "sir"),
    spoken=SPOKEN,
    openers=OPENERS,
    commands=COMMANDS,
    wake_words=WAKE_WORDS,
    assistant_verbs=ASSISTANT_VERBS,
    breaks=BREAKS,
    inner_questions=INNER_QUESTIONS,
    trailing_questions=TRAILING_QUESTIONS,
    question_starts=QUESTION_STARTS,
    clause_subjects=CLAUSE_SUBJECTS,
    subordinators=SUBORDINATORS,
    subordinate_leads=SUBORDINATE_LEADS,
    reporting_verbs=REPORTING_VERBS,
    not_a_reason=frozenset(NOT_A_REASON.split()),
    closers=CLOSERS,
    run_on_closers=RUN_ON_CLOSERS,
    closer_keepers=frozenset(CLOSER_KEEPERS.split()),
)
