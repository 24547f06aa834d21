"""``python -m eval.audio_rescore KEEP``: notes written again from kept audio transcripts.

``python -m eval.audio_notes --keep KEEP`` stores each visit's transcript as the product
heard it (segments, times, roles). Transcribing 40 visits takes an hour; the note engine
takes a second. This re-runs the local note engine on those transcripts, exactly as the
worker does (``write_note`` with the eval template), and scores the notes with the same
scorer, so a change to the note engine is measured on the same audio without transcribing
again. Figures (``--split`` test1 by default):

- ``aci_test1_audio_rouge1|rouge2|rougelsum``, ``aci_test1_audio_unsupported_facts``,
  ``aci_test1_audio_drug_recall``: as ``eval.audio_notes`` writes them;
- ``aci_test1_text_subset_rouge1``: the text path on the same visits, for the gap;
- ``aci_test1_audio_rescored_dialogues``: how many kept visits were read.

Role accuracy (``role_accuracy``, ``role_accuracy_same_voice``) is computed again from the
kept transcripts and turns: the note engine's sentences it is counted over may have changed.
WER comes from the transcripts alone, which do not change: it is not written.
Tune on ``--split valid`` (``eval.audio_notes --split valid --keep``), never on test1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from core.domain import Segment, Speaker, Transcript
from core.transcript_text import parse_transcript_text
from eval.aci import Encounter, data_dir, encounters
from eval.facts_eval import count_facts, total
from eval.results import LATEST, report
from eval.role_hits import Turn, role_hits
from eval.rouge import mean_rouge
from eval.template import EVAL_TEMPLATE
from workers.engines.base import NoteRequest
from workers.engines.notes.local import write_note


@dataclass(frozen=True, slots=True)
class Kept:
    """One visit's transcript as ``eval.audio_notes --keep`` stored it."""

    visit: str
    transcript: Transcript
    #: The turns that were spoken (who and when), for role accuracy.
    turns: tuple[Turn, ...] = ()


def read_kept(folder: Path, kind: str = "two-voices") -> list[Kept]:
    """The kept transcripts of ``kind`` in ``folder``, by visit id."""
    found: list[Kept] = []
    for path in sorted(folder.glob(f"*.{kind}.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        segments = tuple(
            Segment(int(i), float(start), float(end), str(text), Speaker(role or "unknown"))
            for i, start, end, role, text in record["segments"]
        )
        turns = tuple(
            Turn(Speaker(role), float(start), float(end))
            for role, start, end in record.get("turns", [])
        )
        transcript = Transcript(segments, "en", "kept")
        found.append(Kept(path.name.split(".")[0], transcript, turns))
    return found


def rescore(kept: list[Kept], rows: list[Encounter], split: str) -> dict[str, float | str]:
    """The note figures of ``kept`` against the split's reference notes."""
    by_id = {row.encounter_id: row for row in rows}
    missing = [k.visit for k in kept if k.visit not in by_id]
    if missing:
        raise ValueError(f"kept visits not in {split}: {', '.join(missing)}")
    if not kept:
        raise ValueError("no kept transcripts to score")
    request = NoteRequest(EVAL_TEMPLATE, "en")
    visits = [by_id[k.visit] for k in kept]
    notes = [write_note(k.transcript, request).render() for k in kept]
    texts = [write_note(parse_transcript_text(v.dialogue), request).render() for v in visits]
    heard = ["\n".join(s.text for s in k.transcript.segments) for k in kept]
    facts = total(
        [
            count_facts(v.dialogue, v.note, note, said=said)
            for v, note, said in zip(visits, notes, heard, strict=True)
        ]
    )
    audio = mean_rouge([v.note for v in visits], notes)
    prefix = f"aci_{split}_audio"
    return {
        f"{prefix}_rescored_dialogues": float(len(kept)),
        f"{prefix}_rouge1": round(audio.rouge1, 4),
        f"{prefix}_rouge2": round(audio.rouge2, 4),
        f"{prefix}_rougelsum": round(audio.rougelsum, 4),
        f"{prefix}_unsupported_facts": float(facts.unsupported),
        f"{prefix}_drug_recall": round(facts.drug_recall, 4),
        f"aci_{split}_text_subset_rouge1": round(
            mean_rouge([v.note for v in visits], texts).rouge1, 4
        ),
    }


def role_accuracy(kept: list[Kept]) -> float | None:
    """Share of words given the right role over ``kept`` (None: no turns were kept)."""
    right = words = 0
    for visit in kept:
        if visit.turns:
            hit, count = role_hits(visit.transcript, list(visit.turns))
            right, words = right + hit, words + count
    return round(right / words, 4) if words else None


def role_accuracies(folder: Path, split: str) -> dict[str, float | str]:
    """``role_accuracy`` and ``role_accuracy_same_voice`` (``aci_valid_role_accuracy...``
    on valid) from the kept transcripts and turns, as ``eval.audio_notes`` computes them:
    the sentences and their roles come from the note engine, which may have changed."""
    prefix = "role_accuracy" if split == "test1" else f"aci_{split}_role_accuracy"
    found: dict[str, float | str] = {}
    for kind, key in (("two-voices", prefix), ("one-voice", f"{prefix}_same_voice")):
        value = role_accuracy(read_kept(folder, kind))
        if value is not None:
            found[key] = value
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.audio_rescore", description=__doc__)
    parser.add_argument("keep", type=Path, help="folder written by eval.audio_notes --keep")
    parser.add_argument("--data", help="shared data folder (default: ../shared/data)")
    parser.add_argument("--split", choices=("test1", "valid"), default="test1")
    parser.add_argument("--output", type=Path, default=LATEST)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    values = rescore(read_kept(args.keep), encounters(data_dir(args.data), args.split), args.split)
    values.update(role_accuracies(args.keep, args.split))
    report(values, args.output, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
