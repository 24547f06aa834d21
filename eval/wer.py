"""Word error rate of the local transcriber through the whole product vs faster-whisper
called directly, on consultation audio synthesized from PriMock57 transcripts.

Audio: each utterance of both TextGrid channels is spoken by espeak-ng (one voice for the
doctor, another for the patient) and placed at its TextGrid start time in one 16 kHz mono
track; an utterance that would overlap the previous one starts 0.15 s after it instead (the
TTS speaks at its own pace). Only utterances starting in the first ``--seconds`` of each
consultation are used. Generated at evaluation time, never committed.

Reference: the utterance texts in the order spoken, with `<UNSURE>`/`</UNSURE>` tags removed
(their words kept) and `<UNIN/>` (unintelligible) and `<INAUDIBLE_SPEECH/>` removed (nothing is
spoken for them; before 2026-12-02 espeak-ng read the second aloud, "inaudible speech slash").

Normalisation (reference and both hypotheses alike): Whisper's English text normaliser
(``normalise``; PyPI whisper-normalizer, MIT, a copy of openai/whisper's
EnglishTextNormalizer), the one Whisper's paper and the Open ASR Leaderboard score with:
lowercase, punctuation removed, fillers (um, uh, hmm, mm) dropped, contractions and
colloquial spellings expanded ("wasn't" -> "was not", "gonna" -> "going to"), British
spellings made American, numbers as digits; and one spelling its table lacks, "ok" written
"okay" (PriMock57's transcribers write "ok", Whisper "okay"). ``normalise_literal`` is the
stricter rule used before 2026-12-02 (numbers as words, every other word as written; a
filler the transcriber leaves out, or "want to" for "wanna", counts as an error), reported
beside it as
``*_wer_literal``. WER is jiwer's corpus WER over all selected consultations.

The data is PriMock57 (Papadopoulos Korfiatis et al., ACL 2022; github.com/babylonhealth/
primock57), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jiwer
import numpy as np
from num2words import num2words
from whisper_normalizer.english import EnglishTextNormalizer

from core.audio import decode_pcm
from eval.results import merge_results

RATE = 16000
VOICES = {"doctor": "en-gb", "patient": "en-us+f3"}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass(frozen=True)
class Utterance:
    speaker: str
    start: float
    text: str


def read_textgrid(path: Path, speaker: str) -> list[Utterance]:
    """Intervals with text from a Praat long-format TextGrid (one tier)."""
    utterances = []
    xmin = 0.0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line.startswith("xmin ="):
            xmin = float(line.split("=", 1)[1])
        elif line.startswith("text ="):
            raw = line.split("=", 1)[1].strip().strip('"')
            text = clean_reference(raw)
            if text:
                utterances.append(Utterance(speaker, xmin, text))
    return utterances


def clean_reference(text: str) -> str:
    for tag in ("<UNSURE>", "</UNSURE>", "<UNIN/>", "<INAUDIBLE_SPEECH/>"):
        text = text.replace(tag, " ")
    return re.sub(r"\s+", " ", text).strip()


def _number(match: re.Match[str]) -> str:
    value = match.group(0)
    try:
        return f" {num2words(float(value) if '.' in value else int(value))} "
    except (ValueError, OverflowError):
        return f" {value} "


_ENGLISH = EnglishTextNormalizer()


_OK = re.compile(r"\bok\b")


def normalise(text: str) -> str:
    """The text as Whisper's English normaliser scores it (see the module's docstring)."""
    return _OK.sub("okay", str(_ENGLISH(text)))


def normalise_literal(text: str) -> str:
    """The stricter rule: lowercase, numbers as words, every other word as written."""
    text = text.lower().replace("%", " percent ")
    text = re.sub(r"\d+(\.\d+)?", _number, text)
    text = re.sub(r"[-/]", " ", text)
    text = re.sub(r"[^a-z' ]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def word_error_rate(
    references: list[str], hypotheses: list[str], rule: Callable[[str], str] = normalise
) -> float:
    """Corpus WER of the hypotheses against the references, both normalised by ``rule``."""
    return round(float(jiwer.wer([rule(r) for r in references], [rule(h) for h in hypotheses])), 4)


def consultations(data: Path, count: int) -> list[str]:
    names = sorted(
        p.name.rsplit("_", 1)[0]
        for p in (data / "primock57" / "transcripts").glob("*_doctor.TextGrid")
    )
    return names[:count]


def synthesize(name: str, data: Path, seconds: float, out: Path) -> str:
    """Write the consultation's audio to ``out``; return the reference text."""
    folder = data / "primock57" / "transcripts"
    utterances = sorted(
        read_textgrid(folder / f"{name}_doctor.TextGrid", "doctor")
        + read_textgrid(folder / f"{name}_patient.TextGrid", "patient"),
        key=lambda u: u.start,
    )
    utterances = [u for u in utterances if u.start < seconds]
    track = np.zeros(int((seconds + 120) * RATE), dtype=np.float32)
    cursor = 0.0
    spoken = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, utterance in enumerate(utterances):
            wav = Path(tmp) / f"{n}.wav"
            subprocess.run(
                ["espeak-ng", "-v", VOICES[utterance.speaker], "-w", str(wav), utterance.text],
                check=True,
            )
            pcm = decode_pcm(wav, sample_rate=RATE)
            start = max(utterance.start, cursor + 0.15)
            first = int(start * RATE)
            if first + len(pcm) > len(track):
                track = np.concatenate([track, np.zeros(first + len(pcm), dtype=np.float32)])
            track[first : first + len(pcm)] += pcm
            cursor = start + len(pcm) / RATE
            spoken.append(utterance.text)
    track = track[: int((cursor + 0.5) * RATE)]
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(track, -1, 1) * 32767).astype("<i2").tobytes())
    return " ".join(spoken)


def direct(path: Path, threads: int, model_path: Path | None = None) -> str:
    """faster-whisper called directly on ``model_path`` (default: the bundled tiny.en), with
    the decoding the product uses for English (beam size, the previous text as prompt, VAD).
    ``run`` passes the base model when CONSULTA_WHISPER_ENGLISH_MODEL is "base"."""
    from faster_whisper import WhisperModel

    from core.settings import Settings
    from workers.engines.transcribers.local import bundled_model_path

    settings = Settings()

    model = WhisperModel(
        str(model_path or bundled_model_path()),
        device="cpu",
        compute_type="int8",
        cpu_threads=threads,
    )
    segments, _ = model.transcribe(
        str(path),
        language="en",
        beam_size=settings.whisper_beam_size,
        patience=settings.whisper_patience,
        condition_on_previous_text=settings.whisper_condition_on_previous_text,
        vad_filter=True,
    )
    return " ".join(s.text.strip() for s in segments)


async def through_product(paths: list[Path], threads: int) -> list[str]:
    """Upload each file to a real server (embedded default) and read its transcript back."""
    from app.processes import start_server
    from clients.client import ConsultaClient
    from core.auth import mint_token
    from core.settings import Settings

    texts = []
    with tempfile.TemporaryDirectory() as folder:
        secret = "eval-" + "x" * 40
        settings = Settings(
            data_dir=Path(folder),
            grpc_listen="127.0.0.1:0",
            http_listen="127.0.0.1:0",
            jwt_secret=secret,
            whisper_threads=threads,
        )
        server = await start_server(settings)
        try:
            async with ConsultaClient(
                f"127.0.0.1:{server.port}", token=mint_token(secret, "eval")
            ) as client:
                for path in paths:
                    job = await client.upload(path)
                    async for _ in client.watch(job.job_id):
                        pass
                    transcript = await client.get_transcript(job.job_id)
                    texts.append(" ".join(s.text for s in transcript.segments))
        finally:
            await server.stop(1)
    return texts


def run(
    data: Path, count: int, seconds: float, threads: int, write: bool, compare_base: bool = False
) -> dict[str, float | str]:
    from core.settings import Settings
    from workers.engines.transcribers.models import multilingual_model_path

    english_model = Settings().whisper_english_model
    base_texts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="consulta-wer-") as folder:
        spoken, paths = [], []
        for name in consultations(data, count):
            path = Path(folder) / f"{name}.wav"
            spoken.append(synthesize(name, data, seconds, path))
            paths.append(path)
        english = None
        if english_model == "base":
            english = multilingual_model_path(Path(folder) / "models")
        # CPU seconds of this process (the embedded server and its worker run in it too).
        started, cpu = time.perf_counter(), time.process_time()
        direct_texts = [direct(p, threads, english) for p in paths]
        direct_s, direct_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        product_texts = asyncio.run(through_product(paths, threads))
        product_s, product_cpu = time.perf_counter() - started, time.process_time() - cpu
        if compare_base:
            base = multilingual_model_path(Path(folder) / "models")
            base_texts = [direct(p, threads, base) for p in paths]
    figures: dict[str, float | str] = {
        "wer_direct": word_error_rate(spoken, direct_texts),
        "wer_pipeline": word_error_rate(spoken, product_texts),
        "wer_direct_literal": word_error_rate(spoken, direct_texts, normalise_literal),
        "wer_pipeline_literal": word_error_rate(spoken, product_texts, normalise_literal),
        "wer_consultations": float(len(paths)),
        "wer_seconds_each": seconds,
        "wer_direct_s": round(direct_s, 1),
        "wer_pipeline_s": round(product_s, 1),
        "wer_direct_cpu_s": round(direct_cpu, 1),
        "wer_pipeline_cpu_s": round(product_cpu, 1),
        "wer_english_model": english_model,
    }
    if base_texts:
        # The multilingual base model called directly on the same English audio, to set beside
        # wer_direct when the English model is tiny.en (issue 11: base became the default for
        # batch English when it measured lower).
        figures["wer_direct_base"] = word_error_rate(spoken, base_texts)
    if write:
        merge_results(dict(figures))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.wer", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--consultations", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--compare-base",
        action="store_true",
        help="also transcribe with the multilingual base model (wer_direct_base)",
    )
    args = parser.parse_args()
    figures = run(
        args.data,
        args.consultations,
        args.seconds,
        args.threads,
        not args.no_write,
        args.compare_base,
    )
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
