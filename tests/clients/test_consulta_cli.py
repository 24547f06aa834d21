"""The consulta CLI against the fake server: what it prints, where, and its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from consulta.v1 import job_pb2

from core.auth import verify_token
from tests.clients.cli_runner import consulta
from tests.clients.fake_consulta import NOTE_TEXT, SECRET, FakeConsulta
from tests.clients.fake_server_thread import ServerThread


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    path = tmp_path / "visit.wav"
    path.write_bytes(os.urandom(3 << 20))
    return path


def test_transcribe_uploads_the_file_and_prints_the_job_id(
    server: ServerThread, fake: FakeConsulta, audio: Path
) -> None:
    result = consulta(server, "transcribe", str(audio), "--template", "dap", "--language", "es")

    assert result.exit_code == 0, result.stderr
    (upload,) = fake.uploads.values()
    assert bytes(upload.data) == audio.read_bytes()
    assert upload.config.mime_type == "audio/x-wav"
    assert upload.config.job.template == job_pb2.NOTE_TEMPLATE_DAP
    assert upload.config.job.language_code == "es"
    assert result.stdout.strip() == upload.job_id
    assert "uploading visit.wav" in result.stderr


def test_transcribe_follow_prints_segments_then_the_note_then_the_state(
    server: ServerThread, fake: FakeConsulta, audio: Path
) -> None:
    result = consulta(server, "transcribe", str(audio), "--follow")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == next(iter(fake.uploads.values())).job_id
    assert lines[1] == "[00:00.0 - 00:02.5] Clinician: What brings you in today?"
    assert lines[2] == "[00:02.5 - 00:06.0] Patient: I have had a headache for three days."
    # The deltas concatenate to the note, shown once even though note_completed also came.
    assert result.stdout.endswith("\n" + NOTE_TEXT)
    assert result.stdout.count("Ibuprofen") == 1
    assert "transcribing" in result.stderr
    assert "completed" in result.stderr


def test_transcribe_follow_exits_3_when_the_job_fails(
    server: ServerThread, fake: FakeConsulta, audio: Path
) -> None:
    fake.fail_jobs = True
    result = consulta(server, "transcribe", str(audio), "--follow")

    assert result.exit_code == 3
    assert "failed: The audio could not be decoded." in result.stderr


def test_transcribe_follow_json_prints_one_json_object_per_line(
    server: ServerThread, fake: FakeConsulta, audio: Path
) -> None:
    result = consulta(server, "--json", "transcribe", str(audio), "--follow")

    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["job"]["state"] == "JOB_STATE_QUEUED"
    assert "snapshot" in lines[1]
    sequences = [int(line["event"]["sequence"]) for line in lines[2:]]
    assert sequences == list(range(1, len(sequences) + 1))
    assert lines[-1]["event"]["state_changed"]["state"] == "JOB_STATE_COMPLETED"


def test_transcribe_of_a_missing_file_is_a_usage_error(server: ServerThread) -> None:
    result = consulta(server, "transcribe", "/nonexistent/visit.wav")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_note_reads_stdin_and_prints_only_the_note(
    server: ServerThread, fake: FakeConsulta
) -> None:
    result = consulta(
        server,
        "note",
        "--template",
        "birp",
        stdin="Doctor: What brings you in?\nPatient: A headache.\n",
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout == NOTE_TEXT
    (stored,) = fake.jobs.values()
    assert stored.job.config.template == job_pb2.NOTE_TEMPLATE_BIRP


def test_note_json_prints_the_structured_summary(server: ServerThread) -> None:
    result = consulta(server, "note", "--json", stdin="Doctor: hello\n")

    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [s["key"] for s in summary["sections"]] == ["subjective", "plan"]
    assert summary["rendered_text"] == NOTE_TEXT


def test_note_of_empty_input_explains_the_bad_field_and_exits_1(server: ServerThread) -> None:
    result = consulta(server, "note", stdin="  \n")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "invalid argument: The transcript is empty." in result.stderr
    assert "transcript_text: must not be empty" in result.stderr


def test_note_exits_3_with_the_reason_when_the_job_fails(
    server: ServerThread, fake: FakeConsulta
) -> None:
    fake.fail_jobs = True
    result = consulta(server, "note", stdin="Doctor: hello\n")

    assert result.exit_code == 3
    assert result.stdout == ""
    assert "The audio could not be decoded." in result.stderr


def test_jobs_commands(server: ServerThread, fake: FakeConsulta, audio: Path) -> None:
    job_id = consulta(server, "transcribe", str(audio)).stdout.strip()
    text_job = consulta(server, "--json", "note", stdin="Doctor: hi\n")
    assert text_job.exit_code == 0

    listed = consulta(server, "jobs", "list")
    assert listed.exit_code == 0, listed.stderr
    assert job_id in listed.stdout
    assert "completed" in listed.stdout

    as_json = consulta(server, "jobs", "list", "--json", "--limit", "1")
    (only,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert only["job_id"] != job_id  # newest first: the text job

    failed = consulta(server, "jobs", "list", "--state", "failed")
    assert failed.exit_code == 0 and failed.stdout == ""

    got = consulta(server, "jobs", "get", job_id)
    assert got.exit_code == 0
    assert job_id in got.stdout and "sha256" in got.stdout

    transcript = consulta(server, "jobs", "transcript", job_id)
    assert "Patient: I have had a headache for three days." in transcript.stdout

    summary = consulta(server, "jobs", "summary", job_id)
    assert summary.stdout == NOTE_TEXT

    cancelled = consulta(server, "jobs", "cancel", job_id)
    assert cancelled.stdout.strip() == f"{job_id} completed"

    deleted = consulta(server, "jobs", "delete", job_id)
    assert deleted.exit_code == 0 and "deleted at" in deleted.stdout

    gone = consulta(server, "jobs", "get", job_id)
    assert gone.exit_code == 1
    assert f"not found: Job {job_id} was not found. [JOB_NOT_FOUND]" in gone.stderr


def test_health_exits_0_only_when_serving(server: ServerThread) -> None:
    serving = consulta(server, "health", "--http")
    assert serving.exit_code == 0, serving.stdout
    assert serving.stdout.splitlines() == [
        "server: SERVING",
        "consulta.v1.TranscriptionService: SERVING",
        "readyz: SERVING",
    ]

    server.set_serving(False)
    draining = consulta(server, "--json", "health", "--http")
    assert draining.exit_code == 1
    assert json.loads(draining.stdout) == {
        "server": "NOT_SERVING",
        "consulta.v1.TranscriptionService": "NOT_SERVING",
        "readyz": "NOT_SERVING",
    }


def test_health_of_a_server_that_is_not_there_exits_1(server: ServerThread) -> None:
    server.stop()
    result = consulta(server, "health", "--http")
    assert result.exit_code == 1
    assert "server: UNREACHABLE" in result.stdout
    assert "readyz: UNREACHABLE" in result.stdout


def test_token_is_minted_for_the_user_from_the_secret_file(
    server: ServerThread, fake: FakeConsulta, tmp_path: Path
) -> None:
    (tmp_path / "jwt.secret").write_text(SECRET + "\n")
    env = {"CONSULTA_JWT_SECRET": "", "CONSULTA_DATA_DIR": str(tmp_path)}

    result = consulta(server, "--user", "dr-watson", "jobs", "list", env=env)

    assert result.exit_code == 0, result.stderr
    assert fake.subjects == ["dr-watson"]


def test_an_explicit_token_wins_over_minting(server: ServerThread, fake: FakeConsulta) -> None:
    printed = consulta(server, "token", "--user", "nurse", "--role", "service", "--ttl", "60")
    assert printed.exit_code == 0
    principal = verify_token(printed.stdout.strip(), SECRET)
    assert principal.subject == "nurse" and principal.is_service

    result = consulta(server, "jobs", "list", env={"CONSULTA_TOKEN": printed.stdout.strip()})
    assert result.exit_code == 0, result.stderr
    assert fake.subjects == ["nurse"]


def test_without_token_or_secret_the_cli_says_what_to_set(
    server: ServerThread, tmp_path: Path
) -> None:
    env = {"CONSULTA_JWT_SECRET": "", "CONSULTA_DATA_DIR": str(tmp_path)}
    result = consulta(server, "jobs", "list", env=env)
    assert result.exit_code == 1
    assert "CONSULTA_TOKEN" in result.stderr


def test_a_token_the_server_rejects_exits_1_with_unauthenticated(server: ServerThread) -> None:
    result = consulta(server, "--token", "not-a-jwt", "jobs", "list")
    assert result.exit_code == 1
    assert "unauthenticated:" in result.stderr


def _help_commands(module: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    listing = result.stdout.split("Commands:", 1)[1]
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


CLIENT_COMMANDS = {"transcribe", "note", "jobs", "health", "audit"}


def test_python_dash_m_clients_runs_the_client_commands_alone() -> None:
    assert _help_commands("clients") == CLIENT_COMMANDS


def test_python_dash_m_app_runs_every_command() -> None:
    assert _help_commands("app") == CLIENT_COMMANDS | {"serve", "worker", "db", "token"}
