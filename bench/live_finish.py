"""Live uploads (issue 13): how long the server takes to answer ``finish``, from the chunk with
``finish`` leaving the client to the final UploadAudio ``job`` reaching it, for a ~6-minute
recording (the committed sample repeated) sent live as Ogg/Opus and as 16 kHz WAV.

Two ways for each format, to the same `consulta serve` (embedded, its worker off so that
nothing transcribes meanwhile: the figure is the server's alone):

- ``straight``: one stream from the first byte; the server decoded the audio while it arrived
  and stores those figures (core/live_check.py): compose only.
- ``resumed``: the same bytes, but the stream is dropped before its last chunk and resumed on
  the same server, which goes on with the dropped stream's check (server/live_checks.py).
  (Before that shelf, a resumed stream decoded the composed object at ``finish``, as every
  live upload did before core/live_check.py: run the script against an older commit, with
  PYTHONPATH set to its tree, for the figures before.)

Chunks carry one second of audio each, sent at ``--speed`` times real pace (20 by default,
so 6 minutes take 18 s; the decoder keeps far ahead of that). Prints one JSON object.

    .venv/bin/python -m bench.live_finish
    .venv/bin/python -m bench.live_finish --seconds 360 --runs 3 --speed 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from app.devstack.audio_encode import RATE, encode
from bench.common import ROOT, child_server
from core.audio import decode_pcm
from core.auth import mint_token

SAMPLE = ROOT / "examples" / "consultation.mp3"
#: The formats sent (keys of app/devstack/audio_encode.py's FORMATS).
KINDS = ("ogg", "wav")


def recording(seconds: float, kind: str) -> bytes:
    """The sample repeated to ``seconds``, encoded as ``kind``."""
    pcm = decode_pcm(SAMPLE, sample_rate=RATE)
    pcm = np.tile(pcm, int(seconds * RATE) // len(pcm) + 1)[: int(seconds * RATE)]
    return encode(pcm, kind)


class Stream:
    """One UploadAudio call fed from a queue."""

    def __init__(self, stub: pb_grpc.TranscriptionServiceAsyncStub, auth: Any) -> None:
        self.outbox: asyncio.Queue[pb.UploadAudioRequest | None] = asyncio.Queue()
        self.call: Any = stub.UploadAudio(self._requests(), metadata=auth, timeout=600)

    async def _requests(self) -> AsyncIterator[pb.UploadAudioRequest]:
        while (message := await self.outbox.get()) is not None:
            yield message

    async def until(self, kind: str) -> Any:
        while True:
            response = await self.call.read()
            if response is grpc.aio.EOF:  # type: ignore[attr-defined]
                raise RuntimeError(f"the stream ended before a {kind}")
            if response.HasField(kind):
                return getattr(response, kind)


async def finish_seconds(
    address: str, token: str, data: bytes, seconds: float, speed: float, *, resumed: bool
) -> tuple[float, job_pb2.Job]:
    """Send ``data`` live; seconds from the ``finish`` chunk leaving to the final job."""
    auth = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        stream = Stream(stub, auth)
        config = pb.UploadConfig(live=True, filename="visit", job=job_pb2.JobConfig())
        stream.outbox.put_nowait(pb.UploadAudioRequest(config=config))
        upload_id = (await stream.until("status")).upload_id
        step = max(1, round(len(data) / seconds))  # one second of audio
        offsets = list(range(0, len(data), step))
        started = time.monotonic()
        for number, offset in enumerate(offsets[:-1], start=1):
            piece = data[offset : offset + step]
            stream.outbox.put_nowait(
                pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=offset, data=piece))
            )
            while (await stream.until("status")).committed_offset < offset + len(piece):
                pass
            await asyncio.sleep(max(0.0, started + number / speed - time.monotonic()))
        if resumed:
            stream.call.cancel()
            stream = Stream(stub, auth)
            resume = pb.UploadConfig(resume_upload_id=upload_id)
            stream.outbox.put_nowait(pb.UploadAudioRequest(config=resume))
            await stream.until("job")
        last = offsets[-1]
        stream.outbox.put_nowait(
            pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=last, data=data[last:], finish=True))
        )
        sent = time.monotonic()
        while True:
            job: job_pb2.Job = await stream.until("job")
            if job.audio_size_bytes:
                break
        took = time.monotonic() - sent
        stream.outbox.put_nowait(None)
        return took, job


async def measure(address: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"seconds": args.seconds, "speed": args.speed, "runs": args.runs}
    for kind in KINDS:
        data = recording(args.seconds, kind)
        figures[f"{kind}_bytes"] = len(data)
        for mode in ("straight", "resumed"):
            times = []
            for _ in range(args.runs):
                took, job = await finish_seconds(
                    address, token, data, args.seconds, args.speed, resumed=mode == "resumed"
                )
                assert abs(job.audio_duration_seconds - args.seconds) < 0.1, job
                times.append(took)
            figures[f"{kind}_{mode}_finish_s"] = round(statistics.median(times), 3)
            figures[f"{kind}_{mode}_finish_all_s"] = [round(t, 3) for t in times]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=360.0)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with child_server({"CONSULTA_RUN_WORKER": "false"}) as server:
        token = mint_token(server.secret, "bench-live-finish")
        figures = asyncio.run(measure(server.address, token, args))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
