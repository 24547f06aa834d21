"""``python -m eval.train_roles``: train the words-only role model (clinician or patient).

Train splits only: ACI-Bench ``train`` (67 visits) and MTS-Dialog ``TrainingSet`` (1,201
short dialogues), both CC BY 4.0. Sentences are cut as the note engine cuts them, each
labelled with its turn's speaker (guests and family left out). The model is naive Bayes with
add-one smoothing on words and word pairs, pruned to the features seen at least
``MIN_COUNT`` times; ``stay`` (same speaker as the sentence before) is counted on ACI-Bench
train's whole visits, and ``scale`` is chosen on MTS-Dialog's validation split. Written to
``workers/engines/notes/local/data/roles.json``; ``python -m eval`` measures it on ACI-Bench
valid and test1 as ``role_accuracy``.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

from core.domain import Speaker
from core.transcript_text import parse_transcript_text
from eval.aci import data_dir, encounters
from workers.engines.notes.local.languages import lexicon_for
from workers.engines.notes.local.roles import RoleModel, features
from workers.engines.notes.local.sentences import split_sentences

OUTPUT = Path(__file__).resolve().parents[1] / "workers/engines/notes/local/data/roles.json"
MIN_COUNT = 3
MIN_WEIGHT = 0.3
SCALES = (0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)

Labelled = list[tuple[str, Speaker]]


def labelled_sentences(dialogue: str) -> Labelled:
    """A dialogue's sentences in order with their speaker (clinician or patient only)."""
    lexicon = lexicon_for("en")
    found: Labelled = []
    for segment in parse_transcript_text(dialogue).segments:
        if segment.speaker not in (Speaker.CLINICIAN, Speaker.PATIENT):
            continue
        found.extend((s, segment.speaker) for s in split_sentences(segment.text, lexicon))
    return found


def mts_dialogues(data: Path, name: str) -> list[str]:
    path = data / "mts-dialog" / "Main-Dataset" / name
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["dialogue"] for row in csv.DictReader(handle)]


def aci_dialogues(data: Path, split: str) -> list[str]:
    return [e.dialogue for e in encounters(data, split)]


def train(dialogues: list[Labelled], tuning: list[Labelled], visits: list[Labelled]) -> RoleModel:
    counts = {Speaker.CLINICIAN: Counter[str](), Speaker.PATIENT: Counter[str]()}
    sentences = Counter[Speaker]()
    for dialogue in dialogues:
        for sentence, speaker in dialogue:
            counts[speaker].update(features(sentence))
            sentences[speaker] += 1
    clinician, patient = counts[Speaker.CLINICIAN], counts[Speaker.PATIENT]
    seen = clinician.keys() | patient.keys()
    vocabulary = [f for f in seen if clinician[f] + patient[f] >= MIN_COUNT]
    total_c = sum(clinician[f] for f in vocabulary) + len(vocabulary)
    total_p = sum(patient[f] for f in vocabulary) + len(vocabulary)
    weights = {
        f: round(math.log((clinician[f] + 1) / total_c) - math.log((patient[f] + 1) / total_p), 2)
        for f in vocabulary
    }
    # Features that barely lean either way are dropped: a smaller file, the same accuracy.
    weights = {f: w for f, w in weights.items() if abs(w) >= MIN_WEIGHT}
    prior = math.log(sentences[Speaker.CLINICIAN] / sentences[Speaker.PATIENT])
    # Turn lengths from whole visits (ACI-Bench): MTS-Dialog's short exchanges would say
    # that speakers change after nearly every sentence.
    same = pairs = asked = same_asked = 0
    for visit in visits:
        for (text, before), (_, after) in pairwise(visit):
            if text.rstrip().endswith("?"):
                asked += 1
                same_asked += before == after
            else:
                pairs += 1
                same += before == after
    stay = round(same / pairs, 4)
    stay_after_question = round(same_asked / asked, 4)
    best = max(
        SCALES,
        key=lambda s: word_accuracy(
            RoleModel(weights, prior, stay, s, stay_after_question), tuning
        ),
    )
    return RoleModel(weights, round(prior, 4), stay, best, stay_after_question)


def word_accuracy(model: RoleModel, dialogues: Iterable[Labelled]) -> float:
    """Share of words whose sentence was given its speaker's role."""
    right = total = 0
    for dialogue in dialogues:
        guessed = model.roles([s for s, _ in dialogue])
        for (sentence, speaker), guess in zip(dialogue, guessed, strict=True):
            words = len(sentence.split())
            total += words
            right += words if guess == speaker else 0
    return right / total if total else 0.0


def main() -> int:
    data = data_dir(None)
    visits = [labelled_sentences(d) for d in aci_dialogues(data, "train")]
    mts = mts_dialogues(data, "MTS-Dialog-TrainingSet.csv")
    training = visits + [labelled_sentences(d) for d in mts]
    tuning = [labelled_sentences(d) for d in mts_dialogues(data, "MTS-Dialog-ValidationSet.csv")]
    model = train(training, tuning, visits)
    OUTPUT.write_text(
        json.dumps(
            {
                "source": "Trained by eval/train_roles.py on ACI-Bench train and MTS-Dialog "
                "train (both CC BY 4.0; see README.md beside this file).",
                "prior": model.prior,
                "stay": model.stay,
                "scale": model.scale,
                "stay_after_question": model.stay_after_question,
                "weights": dict(sorted(model.weights.items())),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        + "\n",
        encoding="utf-8",
    )
    print(
        f"wrote {len(model.weights)} features, stay {model.stay} "
        f"({model.stay_after_question} after a question), scale {model.scale}"
    )
    for split in ("valid", "test1"):
        held_out = [labelled_sentences(d) for d in aci_dialogues(data, split)]
        print(f"ACI-Bench {split}: role accuracy by words {word_accuracy(model, held_out):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
