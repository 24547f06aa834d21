"""The local live session offline: its WER and final lag with no real pace and no CPU wait.

The bench's consultation (bench/live.py's recording, PriMock57 spoken by espeak-ng) goes
half a second at a time into a local UtteranceSession, each piece once the session has
taken up the last and no transcription is running: as if the CPU were infinitely fast.
So the figures isolate what the session's rules cost (when a final settles, what context
Whisper hears), apart from this machine's speed and load, in minutes rather than the
recording's length.

- ``live_wer``: WER of the finals against the script; ``batch_wer``: one faster-whisper
  call on the whole recording with the same model (live's English model,
  CONSULTA_WHISPER_LIVE_ENGLISH_MODEL) and options (eval/wer.py's normalisation).
- ``lag_p50_s``/``lag_p95_s``: audio pushed when a final came minus the final's end, in
  seconds of audio.

    .venv/bin/python -m bench.live_session
    .venv/bin/python -m bench.live_session --max-utterance 15 --interim-every 1.0
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import jiwer
import numpy as np
import numpy.typing as npt

from bench.common import percentile
from bench.live import recording
from core.audio import decode_pcm
from core.settings import Settings
from eval.wer import normalise
from workers.engines.base import TranscribeOptions
from workers.engines.registry import Engines
from workers.engines.transcribers.live_local import LocalUtteranceEngine
from workers.engines.transcribers.live_utterances import Heard, UtteranceSession
from workers.engines.transcribers.utterances import SAMPLE_RATE

PIECE = SAMPLE_RATE // 2


class Counted(LocalUtteranceEngine):
    """The local engine, counting transcriptions under way."""

    busy = 0

    async def transcribe(
        self, pcm: npt.NDArray[np.float32], offset: float, context: str = ""
    ) -> list[Heard]:
        self.busy += 1
        try:
            return await super().transcribe(pcm, offset, context)
        finally:
            self.busy -= 1


async def settled(engine: Counted, session: UtteranceSession) -> None:
    """Until the session has taken every pushed sample and no transcription runs."""
    for _ in range(100_000):  # bounded: far beyond any clip's transcription
        await asyncio.sleep(0.005)
        if session.backlog_seconds == 0 and engine.busy == 0:
            await asyncio.sleep(0.01)
            if engine.busy == 0:
                return
    raise RuntimeError("the session never settled")


async def measure(
    pcm: npt.NDArray[np.float32], reference: str, **session: float
) -> dict[str, float]:
    settings = Settings()
    engines = Engines(settings)
    whisper = engines._local_whisper(settings.whisper_live_english_model)
    engine = Counted(whisper, TranscribeOptions(language="en"))
    live = UtteranceSession(engine, 0.0, said="", **session)
    pushed = 0.0
    finals: list[str] = []
    lags: list[float] = []

    async def read() -> None:
        async for result in live.results():
            if result.final:
                finals.append(result.text)
                lags.append(pushed - result.end)

    reader = asyncio.create_task(read())
    try:
        for start in range(0, len(pcm), PIECE):
            await live.push(pcm[start : start + PIECE])
            pushed = min(len(pcm), start + PIECE) / SAMPLE_RATE
            await settled(engine, live)
        await live.finish()
        await asyncio.wait_for(reader, timeout=600)
    finally:
        await live.aclose()
    model, _ = whisper._model_for("en")
    batch = " ".join(s.text.strip() for s in whisper.transcribe_window(model, pcm, "en", None))
    ref = normalise(reference)
    live_wer = float(jiwer.wer(ref, normalise(" ".join(finals))))
    batch_wer = float(jiwer.wer(ref, normalise(batch)))
    return {
        "live_wer": round(live_wer, 4),
        "batch_wer": round(batch_wer, 4),
        "wer_delta": round(live_wer - batch_wer, 4),
        "lag_p50_s": round(percentile(lags, 50), 2),
        "lag_p95_s": round(percentile(lags, 95), 2),
        "finals": len(finals),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live_session",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=330.0)
    parser.add_argument("--max-utterance", type=float, default=None)
    parser.add_argument("--interim-every", type=float, default=None)
    parser.add_argument("--settle", type=float, default=None)
    args = parser.parse_args()
    session = {
        key: value
        for key, value in (
            ("max_utterance_seconds", args.max_utterance),
            ("interim_every", args.interim_every),
            ("settle_seconds", args.settle),
        )
        if value is not None
    }
    with tempfile.TemporaryDirectory(prefix="consulta-bench-session-") as tmp:
        path, reference = recording(Path(tmp), args.seconds, "long")
        pcm = decode_pcm(path)
    for key, value in asyncio.run(measure(pcm, reference, **session)).items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
