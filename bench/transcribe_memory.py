"""Memory of the local transcriber on long recordings: RSS growth for 1 hour and 2 hours.

Issue 10 finding 1 asks that transcription hold bounded memory whatever the length, so the
figure that matters is the ratio of the two: growth for 2 h against growth for 1 h (goal:
within 64 MiB of each other). Each recording is room noise with 20 s of the sample
consultation every 10 minutes (so the VAD and the model both work), written as 16 kHz FLAC.

Each run is a fresh child process: it loads the models and transcribes a short clip first
(loading is not growth), then samples its RSS every 50 ms while it transcribes the recording.
Run alone with ``python -m bench.transcribe_memory``; ``--before`` also measures faster-whisper
on the whole file at once (the code path before windows) for the 1-hour recording.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT

SAMPLE = ROOT / "examples" / "consultation.mp3"
RATE = 16000
_MIB = 1 << 20


def write_recording(path: Path, hours: float, every_seconds: float = 600.0) -> Path:
    """Room noise with the sample's first 20 s every ``every_seconds``, as FLAC."""
    from core.audio import decode_pcm
    from workers.engines.transcribers.flac import FlacWriter

    talk = decode_pcm(SAMPLE, sample_rate=RATE)[: 20 * RATE]
    rng = np.random.default_rng(11)
    writer = FlacWriter(str(path))
    total = int(hours * 3600)
    for second in range(0, total, 60):
        block = rng.normal(0, 0.001, 60 * RATE).astype(np.float32)
        if second % int(every_seconds) == 0:
            block[: len(talk)] += talk
        writer.write(block)
    writer.close()
    return path


def _child(path: Path, whole_file: bool) -> dict[str, Any]:
    import psutil

    from core.audio import probe
    from workers.engines.base import AudioFile
    from workers.engines.transcribers.local import LocalWhisperTranscriber

    process = psutil.Process()
    transcriber = LocalWhisperTranscriber()
    duration = probe(path).duration
    with tempfile.TemporaryDirectory() as folder:
        warm = write_recording(Path(folder) / "warm.flac", 1 / 60)
        asyncio.run(_transcribe(transcriber, AudioFile(warm, 60.0)))
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    if whole_file:
        model = transcriber._load(transcriber.model_path)
        segments, _ = model.transcribe(str(path), language="en", vad_filter=True, beam_size=1)
        count = len(list(segments))
    else:
        count = asyncio.run(_transcribe(transcriber, AudioFile(path, duration)))
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "growth_mib": round((peak - baseline) / _MIB, 1),
        "baseline_mib": round(baseline / _MIB, 1),
        "segments": count,
        "seconds": round(seconds, 1),
    }


async def _transcribe(transcriber: Any, audio: Any) -> int:
    from core.domain import Segment
    from workers.engines.base import TranscribeOptions

    count = 0
    async for update in transcriber.transcribe(audio, TranscribeOptions(language="en")):
        count += isinstance(update, Segment)
    return count


def _measure(path: Path, whole_file: bool = False) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.transcribe_memory", "--child", str(path)]
    if whole_file:
        args.append("--whole-file")
    out = subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True, timeout=3600)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(before: bool = False) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="consulta-bench-rss-") as folder:
        for hours in (1, 2):
            path = write_recording(Path(folder) / f"rec-{hours * 3600}.flac", hours)
            result = _measure(path)
            print(f"{hours} h: {result}", file=sys.stderr, flush=True)
            figures[f"transcribe_rss_growth_{hours}h_mib"] = result["growth_mib"]
            figures[f"transcribe_{hours}h_seconds"] = result["seconds"]
            if before and hours == 1:
                old = _measure(path, whole_file=True)
                print(f"1 h, whole file at once: {old}", file=sys.stderr, flush=True)
                figures["transcribe_rss_growth_1h_whole_file_mib"] = old["growth_mib"]
    figures["transcribe_rss_growth_2h_minus_1h_mib"] = round(
        figures["transcribe_rss_growth_2h_mib"] - figures["transcribe_rss_growth_1h_mib"], 1
    )
    return figures


if __name__ == "__main__":
    if "--child" in sys.argv:
        target = Path(sys.argv[sys.argv.index("--child") + 1])
        print(json.dumps(_child(target, "--whole-file" in sys.argv)))
    else:
        print(json.dumps(run(before="--before" in sys.argv)))
