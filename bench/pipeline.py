"""Pipeline overhead: from upload finished to transcript stored, against faster-whisper
called directly on the same file with the same threads (the work the pipeline wraps)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from app.processes import start_server
from bench.common import in_process_settings
from core.auth import mint_token
from workers.engines.transcribers.local import bundled_model_path

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "consultation.mp3"
THREADS = 2


def direct_seconds() -> float:
    from faster_whisper import WhisperModel

    from core.settings import Settings

    settings = Settings()  # the product's English decoding, so both do the same work
    model = WhisperModel(
        str(bundled_model_path()), device="cpu", compute_type="int8", cpu_threads=THREADS
    )
    start = time.perf_counter()
    segments, _ = model.transcribe(
        str(SAMPLE),
        language="en",
        beam_size=settings.whisper_beam_size,
        patience=settings.whisper_patience,
        condition_on_previous_text=settings.whisper_condition_on_previous_text,
        vad_filter=True,
    )
    for _ in segments:
        pass
    return time.perf_counter() - start


async def pipeline_seconds() -> float:
    with tempfile.TemporaryDirectory() as folder:
        settings = in_process_settings(Path(folder), whisper_threads=THREADS)
        server = await start_server(settings)
        auth = (("authorization", f"Bearer {mint_token(settings.jwt_secret, 'bench')}"),)
        data = SAMPLE.read_bytes()

        async def requests() -> AsyncIterator[pb.UploadAudioRequest]:
            yield pb.UploadAudioRequest(config=pb.UploadConfig())
            yield pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=0, data=data, finish=True))

        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                stub = pb_grpc.TranscriptionServiceStub(channel)
                job = None
                async for response in stub.UploadAudio(requests(), metadata=auth):
                    job = response.job if response.HasField("job") else job
                assert job is not None
                start = time.perf_counter()
                async for message in stub.WatchJob(
                    pb.WatchJobRequest(job_id=job.job_id), metadata=auth
                ):
                    if message.event.state_changed.state == job_pb2.JOB_STATE_SUMMARIZING:
                        return time.perf_counter() - start  # the transcript is stored
        finally:
            await server.stop(1)
    raise RuntimeError("the job never reached SUMMARIZING")


def run(rounds: int = 2) -> dict[str, float]:
    direct_seconds()  # load the model files into the page cache for both
    direct = min(direct_seconds() for _ in range(rounds))
    ours = min(asyncio.run(pipeline_seconds()) for _ in range(rounds))
    return {
        "pipeline_direct_s": round(direct, 2),
        "pipeline_s": round(ours, 2),
        "pipeline_ratio": round(ours / direct, 3),
    }


if __name__ == "__main__":
    print(run(1))
