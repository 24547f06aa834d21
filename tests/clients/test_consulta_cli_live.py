"""`consulta transcribe --realtime` against the fake service: what it prints piped and with
--json, and Ctrl-C finishing the upload with the audio sent so far."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from clients.cli_live import FinishOnInterrupt
from clients.cli_transcribe import follow
from clients.client import ConsultaClient
from clients.live_render import ERASE_LINE
from clients.live_sources import PacedFileSource
from tests.clients.cli_runner import CLEAN_ENV, consulta
from tests.clients.conftest import eventually
from tests.clients.fake_consulta import NOTE_TEXT, SECRET, FakeConsulta
from tests.clients.fake_data import Upload
from tests.clients.fake_live import finish_live_job, hear, open_live_job
from tests.clients.fake_server_thread import ServerThread
from tests.clients.recordings import write_wav


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "visit.wav", 6.0)


def test_realtime_follow_piped_prints_the_job_id_final_lines_and_the_note(
    server: ServerThread, fake: FakeConsulta, recording: Path
) -> None:
    result = consulta(
        server, "transcribe", str(recording), "--realtime", "--speed", "100", "--follow"
    )

    assert result.exit_code == 0, result.stderr
    (upload,) = fake.uploads.values()
    assert upload.config.live and bytes(upload.data) == recording.read_bytes()
    transcript = fake.jobs[upload.job_id].transcript
    assert transcript is not None and len(transcript.segments) == 2  # 3 words a segment
    lines = result.stdout.splitlines()
    assert lines[0] == upload.job_id
    assert lines[1] == "[00:00.0 - 00:03.0] Clinician: I have had."
    assert lines[2] == "[00:03.0 - 00:06.0] Patient: a dry cough."
    assert result.stdout.endswith("\n" + NOTE_TEXT)
    # Piped: no interim text and no cursor tricks.
    assert "\r" not in result.stdout and "\x1b" not in result.stdout
    assert "sending visit.wav live at 100x real pace (00:06.0 of audio)" in result.stderr
    assert "completed" in result.stderr


def test_realtime_json_prints_the_job_then_every_event_once(
    server: ServerThread, fake: FakeConsulta, recording: Path
) -> None:
    result = consulta(
        server, "--json", "transcribe", str(recording), "--realtime", "--speed", "100", "--follow"
    )

    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["job"]["state"] == "JOB_STATE_RECEIVING"
    events = [line["event"] for line in lines[1:]]
    (stored,) = fake.jobs.values()
    assert [int(e["sequence"]) for e in events] == list(range(1, len(stored.events) + 1))
    assert sum("interim" in e for e in events) == 6  # one per second of audio
    assert events[-1]["state_changed"]["state"] == "JOB_STATE_COMPLETED"


def test_realtime_without_follow_prints_the_job_id_when_the_job_opens(
    server: ServerThread, fake: FakeConsulta, recording: Path
) -> None:
    result = consulta(server, "transcribe", str(recording), "--realtime", "--speed", "100")

    assert result.exit_code == 0, result.stderr
    (upload,) = fake.uploads.values()
    assert result.stdout == upload.job_id + "\n"
    assert fake.watch_requests == []


def test_realtime_refuses_a_file_without_audio_before_any_upload(
    server: ServerThread, fake: FakeConsulta, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio, just a misnamed text file\n" * 50)
    result = consulta(server, "transcribe", str(notes), "--realtime")

    assert result.exit_code == 1
    assert "Cannot read the duration of" in result.stderr
    assert fake.uploads == {}


def test_speed_needs_realtime(server: ServerThread, recording: Path) -> None:
    result = consulta(server, "transcribe", str(recording), "--speed", "4")

    assert result.exit_code == 2
    assert "--speed goes with --realtime" in result.stderr


def realtime_process(server: ServerThread, recording: Path) -> subprocess.Popen[str]:
    """`consulta transcribe --realtime --follow` in its own process, where SIGINT is real."""
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update(CONSULTA_SERVER=server.target, CONSULTA_JWT_SECRET=SECRET, CONSULTA_USER="dr-house")
    return subprocess.Popen(
        [sys.executable, "-m", "app", "transcribe", str(recording), "--realtime", "--follow"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_final_lines_show_while_sending_and_ctrl_c_finishes_with_what_was_sent(
    server: ServerThread, fake: FakeConsulta, tmp_path: Path
) -> None:
    recording = write_wav(tmp_path / "long.wav", 60.0)
    lines: list[str] = []
    with realtime_process(server, recording) as proc:
        stdout, stderr = proc.stdout, proc.stderr
        assert stdout is not None and stderr is not None
        reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")))
        reader.start()
        try:
            # Real pace: the first final line (three words, three seconds) is printed while
            # the other 57 seconds are still to be sent.
            eventually(lambda: any("Clinician: I have had." in x for x in lines), timeout=60)
            assert lines[0].strip() == next(iter(fake.uploads))
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
            reader.join(timeout=60)
            err = stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()

    assert proc.returncode == 0, err
    (upload,) = fake.uploads.values()
    sent = len(upload.data)
    data = recording.read_bytes()
    assert 0 < sent < len(data) // 2
    assert bytes(upload.data) == data[:sent]
    # The final chunk is empty and carries `finish` right after the bytes sent.
    assert fake.live_chunks[-1] == (sent, 0, True)
    assert upload.finished
    assert "finishing the upload with" in err
    assert "".join(lines).endswith(NOTE_TEXT)
    assert fake.jobs[upload.job_id].events[-1].state_changed.state == (job_pb2.JOB_STATE_COMPLETED)


def test_a_second_ctrl_c_quits_while_following(
    server: ServerThread, fake: FakeConsulta, tmp_path: Path
) -> None:
    fake.pause_watch_after = 1  # the follow-up watch hangs after one event
    proc = realtime_process(server, write_wav(tmp_path / "long.wav", 60.0))
    try:
        eventually(lambda: len(fake.live_chunks) >= 1, timeout=60)
        proc.send_signal(signal.SIGINT)
        eventually(fake.watch_paused.is_set, timeout=60)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 130, err
    assert "finishing the upload with" in err and "interrupted" in err
    (upload,) = fake.uploads.values()
    assert upload.finished  # the first Ctrl-C had finished it


async def test_the_first_interrupt_stops_the_send_and_the_second_goes_to_the_old_handler(
    tmp_path: Path,
) -> None:
    path = write_wav(tmp_path / "visit.wav", 4.0)
    source = PacedFileSource(path, path.stat().st_size, 4.0)
    quits: list[int] = []

    def old_handler(signum: int, frame: object) -> None:  # asyncio.run's, in the command
        quits.append(signum)

    before = signal.signal(signal.SIGINT, old_handler)
    try:
        with FinishOnInterrupt(source, asyncio.get_running_loop()) as interrupt:
            signal.raise_signal(signal.SIGINT)
            await asyncio.sleep(0)  # the handler hands the stop to the loop
            assert source.stopped and quits == []
            signal.raise_signal(signal.SIGINT)
            assert quits == [signal.SIGINT]
            # Once the send is over, the first Ctrl-C quits too.
            interrupt.sending = False
            signal.raise_signal(signal.SIGINT)
            assert quits == [signal.SIGINT, signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is old_handler
    finally:
        signal.signal(signal.SIGINT, before)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_jobs_watch_shows_a_job_still_receiving_as_realtime_follow_does(
    server: ServerThread, fake: FakeConsulta, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = open_live_job(fake, Upload("live-1", pb.UploadConfig(live=True), "dr-house"))
    for second in (1.0, 2.0, 3.0):
        hear(fake, stored, second)
    finish_live_job(fake, stored, 3.0)
    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    async with ConsultaClient(server.target, token=token) as client:
        printer = await follow(client, "live-1", as_json=False)

    assert printer.state == job_pb2.JOB_STATE_COMPLETED
    shown = screen.getvalue()
    assert ERASE_LINE + "[00:00.0 - 00:02.0] I have" + ERASE_LINE in shown
    assert "[00:00.0 - 00:03.0] Clinician: I have had.\n" in shown
    assert shown.endswith(NOTE_TEXT)


def test_on_a_real_terminal_interim_text_is_redrawn_in_place(
    server: ServerThread, fake: FakeConsulta, tmp_path: Path
) -> None:
    recording = write_wav(tmp_path / "visit.wav", 6.0)
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update(CONSULTA_SERVER=server.target, CONSULTA_JWT_SECRET=SECRET, CONSULTA_USER="dr-house")
    controller, terminal = pty.openpty()
    command = [sys.executable, "-m", "app", "transcribe", str(recording), "--realtime"]
    with subprocess.Popen(
        [*command, "--speed", "100", "--follow"],
        env=env,
        stdout=terminal,
        stderr=subprocess.PIPE,
    ) as proc:
        os.close(terminal)
        shown = bytearray()
        while True:  # until the child exits and its end of the terminal closes
            try:
                piece = os.read(controller, 4096)
            except OSError:
                break
            if not piece:
                break
            shown.extend(piece)
        proc.wait(timeout=60)
    os.close(controller)

    assert proc.returncode == 0
    text = shown.decode()
    assert "\r\x1b[2K[00:00.0 - 00:02.0] I have\r\x1b[2K" in text
    assert "[00:00.0 - 00:03.0] Clinician: I have had." in text
