"""What the local transcriber makes of recordings through the real server (issue 11).

No speech: a recording of silence or a tone fails with INVALID_ARGUMENT and ErrorInfo reason
NO_SPEECH on the job, instead of a transcript of Whisper's hallucinated "you".

Spanish offline: a consultation spoken by espeak-ng (``-v es``) with ``language_code="es"``
completes on the local engine with a Spanish transcript and note, nothing downloaded; with the
drug names as vocabulary hints they come out spelled right.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from google.rpc import code_pb2, error_details_pb2

from tests.e2e.audio import RATE
from tests.e2e.deployment import Deployment, run_to_end
from tests.e2e.test_pipeline import upload


def wav_of(pcm: npt.NDArray[np.float64]) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def error_reasons(job: job_pb2.Job) -> list[str]:
    reasons = []
    for detail in job.error.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            reasons.append(info.reason)
    return reasons


async def test_a_recording_with_no_speech_fails_with_reason_no_speech(
    deployment: Deployment,
) -> None:
    t = np.arange(12 * RATE) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    quiet = np.random.default_rng(5).normal(0, 0.001, 12 * RATE)
    job, _ = await upload(deployment, wav_of(np.concatenate([quiet, tone, quiet])))
    stub, auth = deployment.stub(), deployment.auth()
    messages = await run_to_end(stub, job.job_id, auth)
    assert not any(m.event.HasField("segment") for m in messages if m.HasField("event"))
    got = (await stub.GetJob(pb.GetJobRequest(job_id=job.job_id), metadata=auth)).job
    assert got.state == job_pb2.JOB_STATE_FAILED
    assert got.error.code == code_pb2.INVALID_ARGUMENT
    assert error_reasons(got) == ["NO_SPEECH"]
    assert "No speech" in got.error.message


SPANISH = (
    "Buenos días. El paciente toma metformina, ochocientos cincuenta miligramos, dos veces al "
    "día, y enalapril, diez miligramos cada mañana. Tiene dolor de cabeza desde hace tres días."
)


def spoken_spanish(folder: Path) -> bytes:
    """SPANISH as espeak-ng says it (``make test`` installs espeak-ng when missing)."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is missing: `make test` installs it (apt-get install espeak-ng)"
    wav = folder / "es.wav"
    # 140 words a minute (espeak's default is 175): clearer, as a clinician dictating.
    command = [espeak, "-v", "es", "-s", "140", "-w", str(wav), SPANISH]
    subprocess.run(command, check=True, timeout=60)
    return wav.read_bytes()


async def completed_transcript(deployment: Deployment, job: job_pb2.Job) -> str:
    stub, auth = deployment.stub(), deployment.auth()
    messages = await run_to_end(stub, job.job_id, auth)
    last = messages[-1].event.state_changed
    assert last.state == job_pb2.JOB_STATE_COMPLETED, last.reason
    transcript = await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
    assert transcript.transcript.engine.startswith("local:faster-whisper-")
    return " ".join(s.text for s in transcript.transcript.segments).lower()


async def test_spanish_completes_offline_with_drug_and_dose(
    deployment: Deployment, tmp_path: Path
) -> None:
    config = job_pb2.JobConfig(
        language_code="es",
        engine_hints=job_pb2.EngineHints(vocabulary=["metformina", "enalapril"]),
    )
    job, _ = await upload(deployment, spoken_spanish(tmp_path), pb.UploadConfig(job=config))
    text = await completed_transcript(deployment, job)
    stub, auth = deployment.stub(), deployment.auth()
    got = await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
    assert got.transcript.engine == "local:faster-whisper-base"
    assert got.transcript.language_code == "es"
    assert "metformina" in text and "enalapril" in text
    assert "850 miligramos" in text or "ochocientos cincuenta miligramos" in text
    assert "10 miligramos" in text or "diez miligramos" in text
    assert "paciente" in text and "días" in text
    summary = await stub.GetSummary(pb.GetSummaryRequest(job_id=job.job_id), metadata=auth)
    assert "metformina" in summary.summary.rendered_text.lower()
