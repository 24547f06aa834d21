"""Live mode (issue 13): a consultation of at least 5 minutes, synthesized by espeak-ng from a
PriMock57 transcript (eval/wer.py's synthesis: two voices, utterances at their recorded
times), is sent live through the client library to the real embedded product (`consulta
serve` on free loopback ports: SQLite, local store, in-process queue, its own worker, local
engines), at real pace unless ``--speed`` says otherwise (a documented speed-up: the
figures are then for audio arriving that many times faster than it is spoken).

Keys:
- ``live_note_latency_s``: the final chunk (with `finish`) leaving the client -> the note
  (``note_completed``) reaching it.
- ``live_final_lag_p50_s``, ``live_final_lag_p95_s``: for each final segment, its event
  reaching the client minus the moment the chunk holding the segment's last audio was sent.
- ``live_streams_per_worker``: the most real-pace streams sent at once that the server's one
  worker keeps up with: every stream's final lag p95 within ``--lag-limit`` seconds and its
  note within the same bound after its last chunk. Tried with 1, 2, ... streams of a
  ``--trial-seconds`` recording, up to ``--max-streams``; 0 when even one does not keep up.
- ``live_wer_delta``: WER of the live job's transcript minus WER of a batch upload of the
  same audio, both against the script, normalised as eval/wer.py does. The server's batch
  English is set to the live model (CONSULTA_WHISPER_LIVE_ENGLISH_MODEL, tiny.en) for this:
  the delta is what transcribing as the audio arrives costs, not the difference between the
  two models (batch English defaults to base; see eval/README.md for base against tiny.en).

    .venv/bin/python -m bench.live                 # as `make bench` runs it
    .venv/bin/python -m bench.live --speed 2 --max-streams 2
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import jiwer
from consulta.v1 import job_pb2

from bench.common import child_server, percentile
from clients.client import ConsultaClient
from clients.live_sources import PacedFileSource, audio_duration
from clients.sources import Chunk
from core.auth import mint_token
from core.settings import Settings
from eval.wer import DEFAULT_DATA, consultations, normalise, synthesize

FAILED = (job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED)


class TimedSource:
    """A paced file that notes when each chunk left: (end offset, time.monotonic())."""

    def __init__(self, inner: PacedFileSource, clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self._clock = clock
        self.size: int | None = None
        self.sha256 = ""
        self.sent: list[tuple[int, float]] = []
        self.finish_sent_at: float | None = None

    async def chunks_from(self, offset: int) -> AsyncIterator[Chunk]:
        async for chunk in self.inner.chunks_from(offset):
            now = self._clock()
            end = chunk.offset + len(chunk.data)
            if not self.sent or end > self.sent[-1][0]:
                self.sent.append((end, now))
            if chunk.last:
                self.finish_sent_at = now
            yield chunk

    def committed(self, offset: int) -> None:
        self.inner.committed(offset)

    def sent_at(self, seconds: float) -> float:
        """When the chunk holding the audio at ``seconds`` left."""
        byte = seconds * self.inner.bytes_per_second
        ends = [end for end, _ in self.sent]
        index = min(bisect.bisect_left(ends, byte), len(self.sent) - 1)
        return self.sent[index][1]


@dataclass
class LiveRun:
    """What one live upload measured."""

    job_id: str = ""
    lags: list[float] = field(default_factory=list)
    note_latency: float = float("nan")


async def live_run(address: str, token: str, path: Path, speed: float) -> LiveRun:
    """Send ``path`` live and follow its job to the note."""
    result = LiveRun()
    async with ConsultaClient(address, token=token) as client:
        source = TimedSource(await PacedFileSource.open(path, speed=speed))
        live = await client.upload_live(
            source, job_pb2.JobConfig(language_code="en"), filename=path.name
        )
        async for message in live.upload():
            if message.HasField("event") and message.event.HasField("segment"):
                arrived = time.monotonic()
                result.lags.append(arrived - source.sent_at(message.event.segment.end_seconds))
        async for watched in live.follow():
            event = watched.event
            if event.HasField("segment"):
                arrived = time.monotonic()
                result.lags.append(arrived - source.sent_at(event.segment.end_seconds))
            elif event.HasField("note_completed") and source.finish_sent_at is not None:
                result.note_latency = time.monotonic() - source.finish_sent_at
            elif event.HasField("state_changed") and event.state_changed.state in FAILED:
                raise RuntimeError(f"live job ended {event.state_changed.reason!r}")
        assert live.job is not None
        result.job_id = live.job.job_id
    return result


async def transcript_text(address: str, token: str, job_id: str) -> str:
    async with ConsultaClient(address, token=token) as client:
        transcript = await client.get_transcript(job_id)
    return " ".join(segment.text for segment in transcript.segments)


async def batch_text(address: str, token: str, path: Path) -> str:
    """Upload ``path`` as a batch job, wait for it, and return its transcript's text."""
    async with ConsultaClient(address, token=token) as client:
        job = await client.upload(path, job_pb2.JobConfig(language_code="en"))
        async for _ in client.watch(job.job_id):
            pass
    return await transcript_text(address, token, job.job_id)


async def streams_keep_up(
    address: str, secret: str, path: Path, streams: int, limit: float
) -> bool:
    """Whether ``streams`` real-pace live uploads at once all keep within ``limit`` s."""
    tokens = [mint_token(secret, f"bench-live-{n}") for n in range(streams)]
    runs = await asyncio.gather(*(live_run(address, t, path, 1.0) for t in tokens))
    return all(
        run.lags and percentile(run.lags, 95) <= limit and run.note_latency <= limit for run in runs
    )


def recording(folder: Path, seconds: float, name: str) -> tuple[Path, str]:
    """A synthesized consultation (PriMock57, first in order) of about ``seconds``; its
    path and its reference text."""
    path = folder / f"{name}.wav"
    (first,) = consultations(DEFAULT_DATA, 1)
    reference = synthesize(first, DEFAULT_DATA, seconds, path)
    return path, reference


def run(
    speed: float = 1.0,
    seconds: float = 330.0,
    trial_seconds: float = 90.0,
    max_streams: int = 4,
    lag_limit: float = 8.0,
) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="consulta-bench-live-") as tmp:
        folder = Path(tmp)
        long_path, reference = recording(folder, seconds, "long")
        duration = audio_duration(long_path)
        if duration < 300:
            raise RuntimeError(f"the recording is {duration:.0f} s; the bench needs 5 minutes")
        trial_path, _ = recording(folder, trial_seconds, "trial")
        # Enough job slots that the worker's concurrency is not what caps the streams.
        env = {
            "CONSULTA_WORKER_CONCURRENCY": str(max_streams),
            "CONSULTA_WHISPER_ENGLISH_MODEL": Settings().whisper_live_english_model,
        }
        with child_server(env) as server:
            token = mint_token(server.secret, "bench-live")
            live = asyncio.run(live_run(server.address, token, long_path, speed))
            live_text = asyncio.run(transcript_text(server.address, token, live.job_id))
            batch = asyncio.run(batch_text(server.address, token, long_path))
            kept = 0
            for streams in range(1, max_streams + 1):
                if not asyncio.run(
                    streams_keep_up(server.address, server.secret, trial_path, streams, lag_limit)
                ):
                    break
                kept = streams
                print(f"live: {streams} stream(s) at once keep up", flush=True)
    ref = normalise(reference)
    live_wer = float(jiwer.wer(ref, normalise(live_text)))
    batch_wer = float(jiwer.wer(ref, normalise(batch)))
    return {
        "live_note_latency_s": round(live.note_latency, 2),
        "live_final_lag_p50_s": round(percentile(live.lags, 50), 2),
        "live_final_lag_p95_s": round(percentile(live.lags, 95), 2),
        "live_streams_per_worker": kept,
        "live_wer_delta": round(live_wer - batch_wer, 4),
        "live_wer": round(live_wer, 4),
        "live_batch_wer": round(batch_wer, 4),
        "live_audio_s": round(duration, 1),
        "live_speed": speed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="send the long recording this many times faster than real pace (default 1)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=330.0,
        help="consultation time to synthesize; the recording must reach 300 s (default 330)",
    )
    parser.add_argument(
        "--trial-seconds",
        type=float,
        default=90.0,
        help="length of the recording each simultaneous stream sends (default 90)",
    )
    parser.add_argument(
        "--max-streams", type=int, default=4, help="most streams at once to try (default 4)"
    )
    parser.add_argument(
        "--lag-limit",
        type=float,
        default=8.0,
        help="seconds of final lag (p95) and note latency a stream may take and still "
        "keep up (default 8)",
    )
    args = parser.parse_args()
    if args.speed <= 0:
        parser.error("--speed must be positive")
    figures = run(args.speed, args.seconds, args.trial_seconds, args.max_streams, args.lag_limit)
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
