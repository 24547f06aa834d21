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

WER and role accuracy come from the transcripts, which do not change: they are not written.
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
from eval.rouge import mean_rouge
from eval.template import EVAL_TEMPLATE
from workers.engines.base import NoteRequest
from workers.engines.notes.local import write_note


@dataclass(frozen=True, slots=True)
class Kept:
    """One visit's transcript as ``eval.audio_notes --keep`` stored it."""

    visit: str
    transcript: Transcript


def read_kept(folder: Path, kind: str = "two-voices") -> list[Kept]:
    """The kept transcripts of ``kind`` in ``folder``, by visit id."""
    found: list[Kept] = []
    for path in sorted(folder.glob(f"*.{kind}.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        segments = tuple(
            Segment(int(i), float(start), float(end), str(text), Speaker(role or "unknown"))
            for i, start, end, role, text in record["segments"]
        )
        found.append(Kept(path.name.split(".")[0], Transcript(segments, "en", "kept")))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.audio_rescore", description=__doc__)
    parser.add_argument("keep", type=Path, help="folder written by eval.audio_notes --keep")
    parser.add_argument("--data", help="shared data folder (default: ../shared/data)")
    parser.add_argument("--split", choices=("test1", "valid"), default="test1")
    parser.add_argument("--output", type=Path, default=LATEST)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    values = rescore(read_kept(args.keep), encounters(data_dir(args.data), args.split), args.split)
    report(values, args.output, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
