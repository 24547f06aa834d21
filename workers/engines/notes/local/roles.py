"""Who said each sentence, from the words alone: clinician or patient.

For transcripts whose transcriber gave no roles (the local engine on a mono recording, a
pasted transcript without labels). A naive Bayes model on word unigrams and bigrams scores
each sentence (questions, instructions and plans lean clinician; first-person symptoms lean
patient); a two-state Viterbi pass then prefers fewer speaker changes, since a turn usually
holds several sentences. Weights are trained by ``eval/train_roles.py`` on the train splits
of ACI-Bench and MTS-Dialog (CC BY 4.0; attribution in ``data/README.md``) and kept in
``data/roles.json``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from itertools import pairwise

from core.domain import Speaker

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\?")


def features(sentence: str) -> list[str]:
    """The features a sentence is scored on: words, word pairs, its opening word, "?"."""
    tokens = _TOKEN.findall(sentence.lower())
    found = [*tokens, *(f"{a} {b}" for a, b in pairwise(tokens))]
    if tokens:
        found.append(f"<s> {tokens[0]}")
    return found


@dataclass(frozen=True, slots=True)
class RoleModel:
    """Log-odds (clinician over patient) per feature, the prior, and how turns continue."""

    weights: dict[str, float]
    prior: float
    #: Probability that the next sentence has the same speaker as this one.
    stay: float
    #: Multiplies a sentence's summed log-odds (naive Bayes is over-confident).
    scale: float
    #: Probability that the sentence after a question has the same speaker (an answer
    #: usually comes from the other one).
    stay_after_question: float = 0.5
    #: Probability that a sentence continues the turn when it was heard in the same ASR
    #: segment as the sentence before it (and that one asked nothing). Not trained on text,
    #: which has no segments: counted on the base model's segments of the 14 first ACI-Bench
    #: valid visits spoken by one espeak-ng voice, 0.83 (0.50 between segments).
    stay_in_segment: float = 0.83

    def log_odds(self, sentence: str) -> float:
        """Clinician over patient, in natural-log odds, for one sentence on its own."""
        total = sum(self.weights.get(f, 0.0) for f in features(sentence))
        return self.scale * (self.prior + total)

    def roles(self, sentences: Sequence[str], joined: Sequence[bool] = ()) -> list[Speaker]:
        """The most likely speaker of each sentence, in order (Viterbi over two states).

        ``joined[i]`` says sentence ``i`` is in the same segment as the one before it: it then
        continues the turn with probability ``stay_in_segment`` instead of ``stay``."""
        if not sentences:
            return []
        # State 0 is the clinician, 1 the patient; emissions are half the log-odds each way.
        score = [0.0, 0.0]
        back: list[tuple[int, int]] = []
        for i, sentence in enumerate(sentences):
            half = self.log_odds(sentence) / 2
            emit = (half, -half)
            if i == 0:
                score = [emit[0], emit[1]]
                back.append((0, 1))
                continue
            if _asks(sentences[i - 1]):
                chance = self.stay_after_question
            elif i < len(joined) and joined[i]:
                chance = self.stay_in_segment
            else:
                chance = self.stay
            stay, switch = math.log(chance), math.log(1.0 - chance)
            came = [
                0 if score[0] + stay >= score[1] + switch else 1,
                1 if score[1] + stay >= score[0] + switch else 0,
            ]
            score = [
                score[came[0]] + (stay if came[0] == 0 else switch) + emit[0],
                score[came[1]] + (stay if came[1] == 1 else switch) + emit[1],
            ]
            back.append((came[0], came[1]))
        state = 0 if score[0] >= score[1] else 1
        path = [state]
        for i in range(len(sentences) - 1, 0, -1):
            state = back[i][state]
            path.append(state)
        path.reverse()
        return [Speaker.CLINICIAN if s == 0 else Speaker.PATIENT for s in path]


def _asks(sentence: str) -> bool:
    return sentence.rstrip().endswith("?")


@cache
def role_model() -> RoleModel:
    """The trained model shipped with the engine."""
    raw = json.loads(files(__package__).joinpath("data/roles.json").read_text("utf-8"))
    return RoleModel(
        weights={str(k): float(v) for k, v in raw["weights"].items()},
        prior=float(raw["prior"]),
        stay=float(raw["stay"]),
        scale=float(raw["scale"]),
        stay_after_question=float(raw["stay_after_question"]),
    )
