"""English word lists of the sentence step (``sentences.py``): what is cut out of speech,
where unpunctuated speech is cut into sentences, and what makes a sentence a question.
"""

from __future__ import annotations

FILLERS: tuple[str, ...] = (
    "um",
    "umm",
    "uh",
    "uhm",
    "hmm",
    "mm-hmm",
    "mhm",
    "uh-huh",
    "you know",
    "i mean",
    "kind of",
    "sort of",
    "like",
    "okay",
    "ok",
    "alright",
    "all right",
    "so",
    "well",
    "yeah",
    "yes",
    "great",
    "right",
    "now",
    "actually",
    "basically",
)

EMPTY_SENTENCES: frozenset[str] = frozenset(
    {
        "hi",
        "hello",
        "thanks",
        "thank you",
        "good",
        "sure",
        "no",
        "nope",
        "got it",
        "sounds good",
        "that sounds good",
        "perfect",
        "awesome",
        "wonderful",
        "bye",
        "goodbye",
        "see you",
        "nice",
        "cool",
        "of course",
        "no problem",
        "not really",
        "correct",
        "exactly",
        "that's right",
        "that's correct",
        "i see",
    }
)

TRANSITIONS: tuple[str, ...] = (
    "assessment and plan",
    "assessment and my plan",
    "let's talk about",
    "talk a little bit about",
    "go over",
    "do a quick physical exam",
    "do a physical exam",
    "do my physical exam",
    "do your physical exam",
    "physical exam template",
    "general exam template",
    "take a look",
    "look at",
    "listen to",
    "review the results",
    "go ahead and",
    "let's see",
)

#: Announcements left out only when they are nearly the whole sentence (at most
#: ``BRIEF_WORDS`` words): "Let me check it out." goes, "Let me check the x-ray, there is a
#: fracture of the distal radius." stays.
BRIEF_TRANSITIONS: tuple[str, ...] = ("let me see", "let me check", "check it out")

SPOKEN: dict[str, str] = {
    "gon na": "going to",
    "gonna": "going to",
    "wan na": "want to",
    "wanna": "want to",
    "got ta": "have to",
    "gotta": "have to",
    "kinda": "kind of",
    "'cause": "because",
    "cause": "because",
    "ca n't": "cannot",
    "can't": "cannot",
    "wo n't": "will not",
    "won't": "will not",
    "n't": "not",
}

OPENERS: tuple[str, ...] = (
    "and then",
    "and",
    "but",
    "so",
    "also",
    "then",
    "or",
    "because",
    "just",
    "okay",
    "ok",
    "yeah",
    "yes",
    "alright",
    "all right",
    "now",
    "you know",
    "i mean",
    "hey",
    "hi",
    "hello",
)

CLOSERS: tuple[str, ...] = ("okay", "ok", "all right", "alright")
RUN_ON_CLOSERS: tuple[str, ...] = (
    "okay well",
    "okay so",
    "okay and",
    "all right so",
    "all right and",
)

#: Words after which "okay"/"all right" is what was said about something, not a closer.
CLOSER_KEEPERS = """
is are am was were be been being it's that's i'm you're he's she's we're they're everything
feel feels feeling felt seem seems seemed look looks looked sound sounds sounded doing did do
does went goes go going pretty fine if that this
"""

COMMANDS: tuple[str, ...] = ("hey dragon", "dragon", "hey computer", "show me")

WAKE_WORDS: tuple[str, ...] = ("hey dragon", "dragon", "hey computer")

ASSISTANT_VERBS: tuple[str, ...] = (
    "show",
    "finalize",
    "open",
    "close",
    "go to",
    "next",
    "scroll",
    "save",
    "sign",
    "pull up",
    "bring up",
    "stop",
    "start",
    "new paragraph",
    "delete",
    "undo",
    "ms.",
    "mr.",
)

BREAKS: tuple[str, ...] = (
    "okay",
    "ok",
    "alright",
    "all right",
    "so",
    "now",
    "and then",
    "um",
    "uh",
    "well",
    "anyway",
    "hey",
    "but",
    "and i",
    "and we",
    "i'm also",
    "i also",
    "i want",
    "i'd like",
    "i would like",
    "i think",
    "we will",
    "we'll",
    "i'm going to",
    "do you",
    "does that",
    "does it",
    "is that",
    "are you",
    "have you",
    "any questions",
)

INNER_QUESTIONS: tuple[str, ...] = (
    "do you",
    "did you",
    "are you",
    "have you",
    "is it",
    "does it",
    "did it",
    "can you",
    "could you",
    "were you",
    "has it",
    "is that",
    "does that",
    "how about",
    "what about",
    "how much",
    "how many",
    "how long",
)

# Whole openings, not single words: "what we're going to do is ..." is not a question.
TRAILING_QUESTIONS: tuple[str, ...] = (
    "what brings you",
    "what can i do for you",
    "any questions",
    "do you have any questions",
    "how are you",
    "how can i help",
    "do you",
    "did you",
    "are you",
    "have you",
    "can you tell me",
    "could you tell me",
    "how have you",
    "how has your",
    "how's your",
    "how is your",
    "how long have you",
    "how often do you",
    "were you",
    "is there any",
)

QUESTION_STARTS: tuple[str, ...] = (
    "do you",
    "do they",
    "does it",
    "does that",
    "does anything",
    "did you",
    "did it",
    "did anything",
    "are you",
    "is it",
    "is that",
    "is there",
    "was it",
    "were you",
    "have you",
    "has it",
    "has anyone",
    "can you",
    "could you",
    "would you",
    "will you",
    "any",
    "what is",
    "what's",
    "what are",
    "what do",
    "what did",
    "what kind",
    "what type",
    "what about",
    "what brings",
    "what else",
    "what happened",
    "what medications",
    "how",
    "when did",
    "when do",
    "when was",
    "when is",
    "where is",
    "where do",
    "where does",
    "why do",
    "why did",
    "who is",
    "which",
    "tell me",
)

# Comma splices: speech recognizers (Whisper) write "I just feel out of sorts lately, I don't
# know if it's the season" where a scribe writes two sentences. Cut before a subject pronoun
# after a comma (sentences.py ``cut_splices``); measured on ACI-Bench valid (see eval/README.md).
CLAUSE_SUBJECTS: tuple[str, ...] = (
    "i", "i'm", "i've", "i'd", "i'll",
    "we", "we're", "we've", "we'll",
    "he", "he's", "she", "she's",
    "they", "they're", "they've",
    "you", "you're", "you've",
    "it's", "it is", "that's", "there's",
)  # fmt: skip

SUBORDINATORS: tuple[str, ...] = (
    "if", "when", "whenever", "because", "although", "though", "since", "as", "while",
    "unless", "after", "before", "once", "until", "whether", "even if", "even though",
)  # fmt: skip

SUBORDINATE_LEADS: tuple[str, ...] = ("and", "so", "but", "okay", "ok", "well", "um", "uh")

REPORTING_VERBS: tuple[str, ...] = (
    "said", "says", "say", "told", "tells", "tell", "think", "thinks", "thought", "guess",
    "believe", "believes", "mean", "means", "suppose", "know", "knows", "feel", "feels",
)  # fmt: skip
