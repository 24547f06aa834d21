"""``python -m eval``: the notes evaluation on ACI-Bench (make eval runs this).

1. Calibration: GPT-4's shipped test1 notes must score the published 51.76 / 22.58 / 45.97
   (within 0.01), or the scorer differs from the papers' and the run stops with exit code 2.
2. Our notes, from the writer chosen by ``--writer``, on the valid split (tuning) and test1
   (measuring), scored the same way, written to eval/results/latest.json and printed beside
   the published anchors.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from core.transcript_text import parse_transcript_text
from eval.aci import GPT4_TEST1_PUBLISHED, SPLITS, data_dir, encounters, gpt4_test1_predictions
from eval.facts_eval import FactCounts, count_facts, role_accuracy, total
from eval.results import LATEST, merge_results
from eval.rouge import Rouge, mean_rouge
from eval.template import EVAL_TEMPLATE
from eval.writers import NoteWriter, make_writer
from workers.engines.base import NoteRequest
from workers.engines.notes.local import write_note

#: Published ACI-Bench test1 full-note rows (R-1, R-2, R-Lsum), from the paper's Table 6.
ANCHORS = (
    ("transcript (copy)", (32.84, 12.53, 30.61)),
    ("12 doctor turns", (35.88, 12.44, 32.72)),
    ("train_UMLS (retrieval)", (43.87, 17.55, 40.47)),
    ("BART", (41.76, 19.20, 34.70)),
    ("Text-Davinci-003", (47.07, 22.08, 43.11)),
    ("ChatGPT", (47.44, 19.01, 42.47)),
    ("GPT-4", (51.76, 22.58, 45.97)),
)
TOLERANCE = 0.01


class CalibrationError(RuntimeError):
    """The scorer does not reproduce the published GPT-4 figures."""


def calibrate(data: Path) -> Rouge:
    """Score GPT-4's shipped test1 notes; raise when they drift from the published row."""
    predictions = gpt4_test1_predictions(data)
    test1 = encounters(data, "test1")
    score = mean_rouge([e.note for e in test1], [predictions[e.encounter_id] for e in test1])
    got = (score.rouge1, score.rouge2, score.rougelsum)
    if any(abs(g - p) > TOLERANCE for g, p in zip(got, GPT4_TEST1_PUBLISHED, strict=True)):
        raise CalibrationError(
            f"GPT-4 test1 scored {score.rounded()}, published {GPT4_TEST1_PUBLISHED}: "
            "the scorer is not the papers' (rouge-score 0.1.2, no stemming?)"
        )
    return score


# ACI-Bench's speaker markers, removed to measure notes from transcripts without labels.
_SPEAKER_MARKERS = re.compile(r"\[(?:doctor|patient|patient_guest)\]\s*")


def unlabelled(dialogue: str) -> str:
    """The dialogue without its speaker markers, one turn per line as before."""
    return _SPEAKER_MARKERS.sub("", dialogue)


async def score_split(
    writer: NoteWriter, data: Path, split: str, *, labels: bool = True
) -> tuple[Rouge, float, FactCounts]:
    """Our notes on one split: the ROUGE figures, the mean CPU seconds per note and the fact
    counts (unsupported facts, drug recall)."""
    rows = encounters(data, split)
    notes: list[str] = []
    cpu = time.process_time()
    for row in rows:
        dialogue = row.dialogue if labels else unlabelled(row.dialogue)
        notes.append(await writer.write(dialogue, "en"))
    cpu = (time.process_time() - cpu) / len(rows)
    facts = total([count_facts(r.dialogue, r.note, n) for r, n in zip(rows, notes, strict=True)])
    return mean_rouge([r.note for r in rows], notes), cpu, facts


#: Speech runs at about 150 words a minute, so a 20-minute consultation is about 3,000 words.
TWENTY_MINUTES_WORDS = 20 * 150


def twenty_minute_cpu(data: Path) -> tuple[int, float]:
    """Words and CPU seconds of the local engine on a 20-minute consultation.

    The consultation is train dialogues joined until it reaches 3,000 words; the figure is
    the best of 5 runs, to leave out one-off costs such as compiling patterns.
    """
    parts: list[str] = []
    words = 0
    for row in encounters(data, "train"):
        parts.append(row.dialogue)
        words += len(row.dialogue.split())
        if words >= TWENTY_MINUTES_WORDS:
            break
    transcript = parse_transcript_text("\n".join(parts))
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        write_note(transcript, NoteRequest(EVAL_TEMPLATE, "en"))
        best = min(best, time.process_time() - start)
    return words, best


def _row(name: str, figures: Sequence[float]) -> str:
    return f"| {name:<42} | " + " | ".join(f"{f:6.2f}" for f in figures) + " |"


async def run(args: argparse.Namespace) -> int:
    data = data_dir(args.data)
    try:
        gpt4 = calibrate(data)
    except CalibrationError as exc:
        print(f"CALIBRATION FAILED: {exc}", file=sys.stderr)
        return 2
    print(f"calibration ok: GPT-4 test1 {gpt4.rounded()} (published {GPT4_TEST1_PUBLISHED})")
    values: dict[str, float | str] = {
        "calibration_gpt4_rouge1": round(gpt4.rouge1, 4),
        "calibration_gpt4_rouge2": round(gpt4.rouge2, 4),
        "calibration_gpt4_rougelsum": round(gpt4.rougelsum, 4),
        "notes_writer": args.writer,
    }
    writer = make_writer(args.writer)
    ours: dict[str, Rouge] = {}
    facts = FactCounts(0, 0, 0)
    try:
        for split in args.splits:
            score, cpu, counted = await score_split(writer, data, split)
            facts = facts + counted
            ours[split] = score
            values[f"aci_{split}_rouge1"] = round(score.rouge1, 4)
            values[f"aci_{split}_rouge2"] = round(score.rouge2, 4)
            values[f"aci_{split}_rougelsum"] = round(score.rougelsum, 4)
            values[f"aci_{split}_cpu_seconds_per_note"] = round(cpu, 5)
        if "valid" in args.splits:
            score, _, counted = await score_split(writer, data, "valid", labels=False)
            facts = facts + counted
            ours["valid, no speaker labels"] = score
            values["aci_valid_unlabelled_rouge1"] = round(score.rouge1, 4)
    finally:
        close = getattr(writer, "aclose", None)
        if close is not None:
            await close()
    values["unsupported_facts"] = facts.unsupported
    values["drug_recall"] = round(facts.drug_recall, 4)
    print(
        f"unsupported facts: {facts.unsupported}; drug recall {facts.drug_recall:.4f} "
        f"({facts.drugs_found}/{facts.drugs_expected})"
    )
    held_out = [e.dialogue for split in ("valid", "test1") for e in encounters(data, split)]
    values["role_accuracy_text"] = round(role_accuracy(held_out), 4)
    print(
        f"role accuracy by words, no speaker labels (valid+test1): {values['role_accuracy_text']}"
    )
    words, cpu = twenty_minute_cpu(data)
    values["notes_local_cpu_seconds_20min"] = round(cpu, 4)
    print(f"local engine: {cpu * 1000:.1f} ms CPU for a 20-minute consultation ({words} words)")
    if not args.no_write:
        merge_results(values, args.output)
        print(f"wrote {args.output}")
    print("\nACI-Bench full note, ROUGE x100 (rouge-score 0.1.2, no stemming, mean per-note F1)")
    print(_row("system", ()).replace("|  |", "| R-1    | R-2    | R-Lsum |"))
    for name, figures in ANCHORS:
        print(_row(f"{name} [test1, published]", figures))
    for split, score in ours.items():
        print(_row(f"ours ({args.writer}) [{split}]", score.rounded()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", help="shared data folder (default: $CONSULTA_EVAL_DATA or ../shared/data)"
    )
    parser.add_argument("--writer", choices=("direct", "product"), default="direct")
    parser.add_argument(
        "--splits",
        type=lambda s: [p for p in s.split(",") if p],
        default=["valid", "test1"],
        help=f"comma-separated ACI-Bench splits to score ({', '.join(SPLITS)})",
    )
    parser.add_argument("--output", type=Path, default=LATEST)
    parser.add_argument("--no-write", action="store_true", help="print only (for tuning runs)")
    args = parser.parse_args(argv)
    unknown = [s for s in args.splits if s not in SPLITS]
    if unknown:
        parser.error(f"unknown split(s): {', '.join(unknown)}")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
