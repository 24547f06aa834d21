"""The smaller things a user of the CLI meets, each against a real server: JSON errors and
output, paging, cancel of a finished job, audio URLs on the local store, the terminal hint of
`note`, text transcripts, progress with time left, a refused engine hint."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import uuid
from pathlib import Path

import grpc
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1.transcription_service_pb2_grpc import TranscriptionServiceStub

from tests.e2e.audio import SAMPLE, wav_bytes
from tests.e2e.deployment import Deployment, run_to_end
from tests.e2e.test_cli import CLI, consulta
from tests.e2e.test_jobs import DIALOGUE, text_job

SPANISH = "Doctor: ¿Qué le trae hoy?\nPaciente: Me duele la cabeza desde hace tres días.\n"

pytestmark = pytest.mark.parametrize("kind", ["embedded"], indirect=True)


async def finished_text_job(deployment: Deployment) -> job_pb2.Job:
    job = await text_job(deployment)
    messages = await run_to_end(deployment.stub(), job.job_id, deployment.auth())
    assert messages[-1].event.state_changed.state == job_pb2.JOB_STATE_COMPLETED
    return job


async def test_json_errors_are_one_json_object_on_stderr(deployment: Deployment) -> None:
    missing = str(uuid.uuid4())
    code, out, err = await consulta(deployment, "--json", "jobs", "get", missing)

    assert code == 1
    assert out == ""
    error = json.loads(err)  # the whole of stderr is one object
    assert error["code"] == "NOT_FOUND"
    assert error["reason"] == "JOB_NOT_FOUND"
    assert missing in error["message"]


async def test_json_output_keeps_zero_values_and_rounds_floats(deployment: Deployment) -> None:
    code, out, err = await consulta(deployment, "transcribe", str(SAMPLE), "--follow")
    assert code == 0, err
    job_id = out.splitlines()[0]

    code, out, err = await consulta(deployment, "--json", "jobs", "transcript", job_id)

    assert code == 0, err
    first = json.loads(out)["segments"][0]
    assert first["segment_id"] == 0
    assert first["start_seconds"] == 0.0
    # No float noise such as 12.700000000000001: milliseconds at most.
    assert not re.search(r"\d\.\d{4,}", out), out


async def test_jobs_list_says_when_more_exist_and_pages_on(deployment: Deployment) -> None:
    for _ in range(3):
        await text_job(deployment)

    code, out, err = await consulta(deployment, "--json", "jobs", "list", "--limit", "2")

    assert code == 0, err
    first_page = [json.loads(line)["job_id"] for line in out.splitlines()]
    assert len(first_page) == 2
    token = re.search(r"--page-token (\S+) \(or --all\)", err)
    assert token is not None, err
    code, out, err = await consulta(
        deployment, "--json", "jobs", "list", "--limit", "2", "--page-token", token[1]
    )
    assert code == 0, err
    rest = [json.loads(line)["job_id"] for line in out.splitlines()]
    assert len(rest) == 1 and rest[0] not in first_page
    assert "More jobs exist" not in err
    code, out, _ = await consulta(deployment, "--json", "jobs", "list", "--all", "--limit", "1")
    assert len(out.splitlines()) == 3


async def test_jobs_list_shows_the_file_name_and_duration(
    deployment: Deployment, tmp_path: Path
) -> None:
    path = tmp_path / "visita-garcia.wav"
    path.write_bytes(wav_bytes(seconds=6))
    code, _, err = await consulta(deployment, "transcribe", str(path))
    assert code == 0, err

    code, out, err = await consulta(deployment, "jobs", "list")

    assert code == 0, err
    assert "visita-garcia.wav" in out
    assert "00:06.0" in out


async def test_cancel_of_a_finished_job_says_so_and_exits_5(deployment: Deployment) -> None:
    job = await finished_text_job(deployment)

    code, out, err = await consulta(deployment, "jobs", "cancel", job.job_id)

    assert code == 5
    assert "already finished (completed)" in err
    assert out.strip() == f"{job.job_id} completed"


async def test_audio_url_on_the_local_store_gives_a_reason(deployment: Deployment) -> None:
    code, out, err = await consulta(deployment, "transcribe", str(SAMPLE))
    assert code == 0, err

    code, _, err = await consulta(deployment, "jobs", "get", out.strip(), "--audio-url")

    assert code == 0, err
    assert "No audio URL: this deployment's blob store cannot sign download URLs" in err


async def test_note_in_a_terminal_says_how_to_end_input(deployment: Deployment) -> None:
    controller, terminal = pty.openpty()
    env = {
        **{k: v for k, v in os.environ.items() if k != "CONSULTA_TOKEN"},
        "CONSULTA_JWT_SECRET": deployment.settings.jwt_secret,
        "CONSULTA_USER": "alice",
    }
    proc = await asyncio.create_subprocess_exec(
        str(CLI),
        "--server",
        f"127.0.0.1:{deployment.server.port}",
        "--tenant",
        "clinic-a",
        "note",
        stdin=terminal,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    os.close(terminal)
    # What a person types, then Ctrl-D on an empty line (the terminal turns it into EOF).
    os.write(controller, DIALOGUE.encode() + b"\x04")
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        os.close(controller)

    assert proc.returncode == 0, err.decode()
    assert "end with Ctrl-D on an empty line" in err.decode()
    assert "lisinopril" in out.decode().lower()
    # From a pipe nothing is said: the hint is for people at a keyboard.
    code, _, err_text = await consulta(deployment, "note", stdin=DIALOGUE.encode())
    assert code == 0 and "Ctrl-D" not in err_text


async def test_a_text_transcript_has_no_fake_times_and_labels_in_its_language(
    deployment: Deployment,
) -> None:
    code, out, err = await consulta(deployment, "note", "--language", "es", stdin=SPANISH.encode())
    assert code == 0, err
    code, out, err = await consulta(deployment, "--json", "jobs", "list")
    job_id = json.loads(out.splitlines()[0])["job_id"]

    code, out, err = await consulta(deployment, "jobs", "transcript", job_id)

    assert code == 0, err
    assert out.splitlines() == [
        "Médico: ¿Qué le trae hoy?",
        "Paciente: Me duele la cabeza desde hace tres días.",
    ]


async def test_follow_shows_transcription_progress_with_time_left(deployment: Deployment) -> None:
    code, _, err = await consulta(deployment, "transcribe", str(SAMPLE), "--follow")

    assert code == 0, err
    lines = re.findall(r"transcribing (\d+)% \(\S+ of 01:23\.7 of audio\), (.+)", err)
    assert lines, err
    assert any(re.fullmatch(r"about \S+ left", left) for _, left in lines), lines
    shares = [int(share) for share, _ in lines]
    assert shares == sorted(shares)


async def test_a_refused_engine_names_the_setting_and_key_once(deployment: Deployment) -> None:
    code, _, err = await consulta(
        deployment, "transcribe", str(SAMPLE), "--transcriber", "openai", "--language", "es"
    )

    assert code == 1
    assert "[ENGINE_NOT_ALLOWED]" in err
    assert "CONSULTA_ALLOWED_TRANSCRIBERS" in err and "OPENAI_API_KEY" in err
    assert err.count("is not allowed here") == 1


async def test_a_grpc_client_at_the_http_port_leaves_no_traceback(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{deployment.server.http_port}")
    try:
        with pytest.raises(grpc.aio.AioRpcError):
            await TranscriptionServiceStub(channel).GetJob(
                pb.GetJobRequest(job_id=str(uuid.uuid4())), timeout=5
            )
    finally:
        await channel.close(None)

    records = [r for r in caplog.records if r.name.startswith(("aiohttp", "core.http_side"))]
    assert records, "the side port said nothing about the refused request"
    assert all(r.levelname != "ERROR" and r.exc_info is None for r in records), records
    assert any("gRPC is on the other port" in r.getMessage() for r in records)
