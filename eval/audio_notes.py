"""``python -m eval.audio_notes``: notes from audio on ACI-Bench test1, through the product.

Each dialogue is spoken by espeak-ng, one voice per role (``eval.wer.VOICES``), turns in order
with a short pause between them, then uploaded to a real Consulta server (embedded default,
local transcriber and local note engine, as ``consulta transcribe`` does) and scored:

- ``aci_test1_audio_rouge1|rouge2|rougelsum``: the note against the reference note, with the
  same scorer as the text path (``eval.rouge``);
- ``aci_test1_audio_wer``: the transcript against the dialogue, normalised by Whisper's
  English normaliser (``eval.wer.normalise``); ``aci_test1_audio_wer_literal`` with the
  stricter rule used before (``eval.wer.normalise_literal``);
- ``role_accuracy``: share of the transcript's words whose sentence got the role of the turn
  that was playing at that time; ``role_accuracy_same_voice``: the same with both roles
  spoken by one voice (a second upload), so that only the words can tell them apart;
- ``aci_test1_audio_unsupported_facts`` and ``aci_test1_audio_drug_recall``
  (``eval.facts_eval``), against the ASR transcript.

Transcribing is CPU-heavy, so ``--dialogues N`` takes the first N test1 visits; the figures
say how many were used (``aci_test1_audio_dialogues``). ``--split valid`` runs the same on
the valid split, for tuning without looking at test1 (its keys say ``aci_valid_audio_``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from consulta.v1 import job_pb2

from app.processes import start_server
from clients.client import ConsultaClient
from core.audio import decode_pcm
from core.auth import mint_token
from core.codec import SPEAKER_TO_PB, TEMPLATE_TO_PB
from core.domain import Segment, Speaker, Transcript
from core.settings import Settings
from core.transcript_text import parse_transcript_text
from eval.aci import Encounter, data_dir, encounters
from eval.facts_eval import FactCounts, count_facts, total
from eval.results import LATEST, report
from eval.role_hits import Turn, role_hits
from eval.rouge import mean_rouge
from eval.template import EVAL_TEMPLATE
from eval.wer import RATE, VOICES, normalise_literal, word_error_rate
from workers.engines.base import NoteRequest
from workers.engines.notes.local import write_note

PAUSE_SECONDS = 0.4
# ACI-Bench's ASR-style text spaces its punctuation ("okay . so"); espeak-ng reads a lone "."
# aloud as "dot", which the transcriber then hears as a word. Punctuation is joined back to
# its word before speaking, and split contractions ("wan na") are joined.
_SPACED_PUNCTUATION = re.compile(r"\s+([.,?!;:])")
_SPLIT_WORDS = re.compile(r"\b(wan|gon|got) na\b")
# ... and so are its split contractions ("was n't", "it 's"): espeak-ng would speak the
# clitic as a word of its own.
_SPLIT_CONTRACTIONS = re.compile(r"(\w)\s+(n't|'s|'re|'ve|'ll|'m|'d)\b", re.IGNORECASE)


def speakable(text: str) -> str:
    """The turn as espeak-ng should read it."""
    text = _SPACED_PUNCTUATION.sub(r"\1", text)
    text = _SPLIT_CONTRACTIONS.sub(r"\1\2", text)
    return _SPLIT_WORDS.sub(r"\1na", text)


def synthesize(dialogue: str, out: Path, *, same_voice: bool) -> tuple[list[Turn], str]:
    """Speak the dialogue into a 16 kHz mono WAV; return its turns and the words spoken."""
    pieces: list[np.ndarray] = []
    turns: list[Turn] = []
    spoken: list[str] = []
    cursor = 0.0
    pause = np.zeros(int(PAUSE_SECONDS * RATE), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for n, segment in enumerate(parse_transcript_text(dialogue).segments):
            speaker = Speaker.CLINICIAN if segment.speaker == Speaker.CLINICIAN else Speaker.PATIENT
            voice = VOICES["doctor" if same_voice or speaker == Speaker.CLINICIAN else "patient"]
            wav = Path(tmp) / f"{n}.wav"
            said = speakable(segment.text)
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), said], check=True)
            pcm = decode_pcm(wav, sample_rate=RATE)
            turns.append(Turn(speaker, cursor, cursor + len(pcm) / RATE))
            pieces.extend([pcm, pause])
            cursor += (len(pcm) + len(pause)) / RATE
            spoken.append(said)
    track = np.concatenate(pieces) if pieces else np.zeros(RATE, dtype=np.float32)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(track, -1, 1) * 32767).astype("<i2").tobytes())
    return turns, " ".join(spoken)


@dataclass(frozen=True, slots=True)
class Heard:
    transcript: Transcript
    note: str


async def through_product(client: ConsultaClient, wav: Path) -> Heard:
    config = job_pb2.JobConfig(language_code="en", template=TEMPLATE_TO_PB[EVAL_TEMPLATE])
    job = await client.upload(wav, config)
    state = job.state
    async for message in client.watch(job.job_id):
        if message.HasField("event") and message.event.HasField("state_changed"):
            state = message.event.state_changed.state
    if state != job_pb2.JOB_STATE_COMPLETED:
        raise RuntimeError(f"job {job.job_id} ended in state {state}")
    got = await client.get_transcript(job.job_id)
    segments = tuple(
        Segment(s.segment_id, s.start_seconds, s.end_seconds, s.text, _speaker(s.speaker))
        for s in got.segments
    )
    transcript = Transcript(segments, got.language_code or "en", got.engine)
    return Heard(transcript, (await client.get_summary(job.job_id)).rendered_text)


def keep(folder: Path | None, visit: str, kind: str, heard: Heard, turns: list[Turn]) -> None:
    """With ``--keep``, the visit's transcript (segments, times, roles), the turns that were
    spoken and the note, as JSON in ``folder``: tuning without transcribing again."""
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "segments": [
            [s.id, s.start, s.end, s.speaker.value if s.speaker else "", s.text]
            for s in heard.transcript.segments
        ],
        "turns": [[t.speaker.value, t.start, t.end] for t in turns],
        "note": heard.note,
    }
    (folder / f"{visit}.{kind}.json").write_text(json.dumps(record, indent=1))


def _speaker(value: int) -> Speaker:
    found = [speaker for speaker, pb in SPEAKER_TO_PB.items() if pb == value]
    return found[0] if found else Speaker.UNKNOWN


@dataclass(frozen=True, slots=True)
class Visit:
    """One visit's outcome: its note, what was spoken and heard, its facts and role hits."""

    note: str
    spoken: str
    said: str
    facts: FactCounts
    right: int
    words: int
    right_same: int = 0
    words_same: int = 0


async def visit(
    client: ConsultaClient, row: Encounter, folder: Path, args: argparse.Namespace
) -> Visit:
    """Speak one visit (two voices, then one unless ``--no-same-voice``), send it through
    the product and score what came back."""
    wav = folder / f"{row.encounter_id}.wav"
    turns, spoken = await asyncio.to_thread(synthesize, row.dialogue, wav, same_voice=False)
    heard = await through_product(client, wav)
    keep(args.keep, row.encounter_id, "two-voices", heard, turns)
    said = "\n".join(s.text for s in heard.transcript.segments)
    right, words = role_hits(heard.transcript, turns)
    right_same = words_same = 0
    if not args.no_same_voice:
        one = folder / f"{row.encounter_id}.one-voice.wav"
        turns, _ = await asyncio.to_thread(synthesize, row.dialogue, one, same_voice=True)
        same = await through_product(client, one)
        keep(args.keep, row.encounter_id, "one-voice", same, turns)
        right_same, words_same = role_hits(same.transcript, turns)
    print(f"{row.encounter_id}: done", flush=True)
    return Visit(
        note=heard.note,
        spoken=spoken,
        said=said,
        facts=count_facts(row.dialogue, row.note, heard.note, said=said),
        right=right,
        words=words,
        right_same=right_same,
        words_same=words_same,
    )


async def run(args: argparse.Namespace) -> dict[str, float | str]:
    data = data_dir(args.data)
    rows = encounters(data, args.split)[: args.dialogues]
    prefix = f"aci_{args.split}_audio"
    # test1's role keys are the issue's ``role_accuracy``; another split's never overwrite them.
    roles = "role_accuracy" if args.split == "test1" else f"aci_{args.split}_role_accuracy"
    cpu = time.process_time()  # the embedded server and worker run in this process
    with tempfile.TemporaryDirectory(prefix="consulta-audio-eval-") as folder:
        secret = "eval-" + "x" * 40
        settings = Settings(
            data_dir=Path(folder) / "var",
            grpc_listen="127.0.0.1:0",
            http_listen="127.0.0.1:0",
            jwt_secret=secret,
            # Scored with roles from voices (an opt-in, as it holds segments to the end).
            speaker_roles_from_voices=True,
        )
        server = await start_server(settings)
        token = mint_token(secret, "eval", ttl_seconds=86400)
        try:
            async with ConsultaClient(f"127.0.0.1:{server.port}", token=token) as client:
                # Visits run ``--parallel`` at a time (the embedded worker transcribes two
                # jobs at once by default); figures are gathered in visit order.
                gate = asyncio.Semaphore(args.parallel)

                async def one(row: Encounter) -> Visit:
                    async with gate:
                        return await visit(client, row, Path(folder), args)

                visits = await asyncio.gather(*(one(row) for row in rows))
        finally:
            await server.stop(1)
    notes = [v.note for v in visits]
    references = [v.spoken for v in visits]
    hypotheses = [v.said for v in visits]
    right, words = sum(v.right for v in visits), sum(v.words for v in visits)
    right_same, words_same = sum(v.right_same for v in visits), sum(v.words_same for v in visits)
    score = mean_rouge([r.note for r in rows], notes)
    counted = total([v.facts for v in visits])
    figures: dict[str, float | str] = {
        f"{prefix}_dialogues": float(len(rows)),
        f"{prefix}_rouge1": round(score.rouge1, 4),
        f"{prefix}_rouge2": round(score.rouge2, 4),
        f"{prefix}_rougelsum": round(score.rougelsum, 4),
        f"{prefix}_wer": word_error_rate(references, hypotheses),
        f"{prefix}_wer_literal": word_error_rate(references, hypotheses, normalise_literal),
        roles: round(right / words, 4) if words else 0.0,
        f"{prefix}_unsupported_facts": float(counted.unsupported),
        f"{prefix}_drug_recall": round(counted.drug_recall, 4),
        # CPU of both uploads of every visit (transcription, roles, notes; not espeak-ng).
        f"{prefix}_cpu_s": round(time.process_time() - cpu, 1),
        f"{prefix}_english_model": settings.whisper_english_model,
        f"aci_{args.split}_text_subset_rouge1": round(
            mean_rouge([r.note for r in rows], [_text_note(r.dialogue) for r in rows]).rouge1, 4
        ),
    }
    if not args.no_same_voice:
        figures[f"{roles}_same_voice"] = round(right_same / words_same, 4) if words_same else 0.0
    return figures


def _text_note(dialogue: str) -> str:
    """The same visits' notes from their text transcripts, for the gap on the same subset."""
    transcript = parse_transcript_text(dialogue)
    return write_note(transcript, NoteRequest(EVAL_TEMPLATE, "en")).render()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.audio_notes", description=__doc__)
    parser.add_argument("--data", help="shared data folder (default: ../shared/data)")
    parser.add_argument("--dialogues", type=int, default=40, help="first N visits of the split")
    parser.add_argument(
        "--parallel",
        type=int,
        default=2,
        help="visits in flight at once (2: the embedded worker's default concurrency)",
    )
    parser.add_argument(
        "--split",
        choices=("test1", "valid"),
        default="test1",
        help="test1 (the scored figures) or valid (for tuning; its keys say aci_valid_)",
    )
    parser.add_argument("--output", type=Path, default=LATEST)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--keep", type=Path, help="folder for each visit's transcripts and notes (JSON)"
    )
    parser.add_argument(
        "--no-same-voice",
        action="store_true",
        help="skip the one-voice upload (half the time; no role_accuracy_same_voice)",
    )
    args = parser.parse_args(argv)
    values = asyncio.run(run(args))
    report(values, args.output, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
