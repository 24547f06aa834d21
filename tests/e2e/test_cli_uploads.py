"""`consulta transcribe` as a clinic's IT team meets it, against a real server: a repeated
idempotency key, Ctrl-C in the middle of a large upload and the same command again, and
`jobs watch` to reattach to a job."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from tests.e2e.audio import SAMPLE, wav_bytes
from tests.e2e.deployment import Deployment, run_to_end, uploaded_bytes
from tests.e2e.test_cli import CLI, consulta
from tests.support import eventually


async def listed_jobs(deployment: Deployment) -> list[dict[str, object]]:
    code, out, err = await consulta(deployment, "--json", "jobs", "list", "--all")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def quiet_wav(path: Path, size: int) -> None:
    """A WAV of about ``size`` bytes of noise far below hearing: 32-bit samples at 192 kHz, so
    that 100 MiB hold only 2 minutes 16 seconds of audio for the worker to transcribe."""
    rate, width = 192_000, 4
    frames = (size - 44) // width
    noise = np.random.default_rng(7).integers(-16, 16, frames, dtype="<i4")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(noise.tobytes())


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
@pytest.mark.parametrize("size", [0, 20 << 20], ids=["small", "larger"])
async def test_transcribe_twice_with_one_idempotency_key_gives_one_job(
    deployment: Deployment, tmp_path: Path, size: int
) -> None:
    path = tmp_path / "visit.wav"
    if size:
        quiet_wav(path, size)  # several parts, and little audio for the worker
    else:
        path.write_bytes(wav_bytes(seconds=4))
    args = ("transcribe", str(path), "--idempotency-key", "visit-7")

    code, first, err = await consulta(deployment, *args)
    assert code == 0, err
    code, second, err = await consulta(deployment, *args)

    assert code == 0, err
    assert second.strip() == first.strip()
    assert [job["job_id"] for job in await listed_jobs(deployment)] == [first.strip()]


def remembered_upload(state_dir: Path) -> str | None:
    try:
        entries = json.loads((state_dir / "consulta" / "uploads.json").read_text())
    except (OSError, ValueError):
        return None
    ids = [entry["upload_id"] for entry in entries.values()]
    return ids[0] if ids else None


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
async def test_ctrl_c_mid_upload_then_the_same_command_resumes_and_the_job_completes_once(
    deployment: Deployment, tmp_path: Path, private_state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long-visit.wav"
    quiet_wav(path, 100 << 20)
    size = path.stat().st_size
    stub = deployment.stub()
    auth = deployment.auth()
    # The server holds the second part's write until the client has been interrupted and has
    # exited, so that the upload cannot end before Ctrl-C however fast the machine (100 MiB once
    # took 0.4 s on CI). The interrupted client must not wait for the held part either.
    blobs = deployment.server.runtime.blobs
    write_part = blobs.upload_part_pieces
    second_part = asyncio.Event()
    released = asyncio.Event()
    holding = [True]

    async def held_write(key: str, handle: str, number: int, pieces: Any) -> Any:
        if number == 2 and holding[0]:
            second_part.set()
            await released.wait()
        return await write_part(key, handle, number, pieces)

    monkeypatch.setattr(blobs, "upload_part_pieces", held_write)
    command = [
        str(CLI),
        "--server",
        f"127.0.0.1:{deployment.server.port}",
        "--tenant",
        "clinic-a",
        "transcribe",
        str(path),
    ]
    env = {
        **{k: v for k, v in os.environ.items() if k != "CONSULTA_TOKEN"},
        "CONSULTA_JWT_SECRET": deployment.settings.jwt_secret,
        "CONSULTA_USER": "alice",
    }
    first = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )

    async def upload_id() -> str:
        assert first.returncode is None, "the upload finished before it could be interrupted"
        return remembered_upload(private_state_dir) or ""

    async def committed(upload: str) -> int:
        status = await stub.GetUploadStatus(
            pb.GetUploadStatusRequest(upload_id=upload), metadata=auth
        )
        return status.committed_offset

    upload = await eventually(upload_id, within=60, interval=0.01, what="an upload id saved")
    await asyncio.wait_for(second_part.wait(), 60)  # part 1 is recorded, part 2 on its way
    before_interrupt = await committed(upload)
    first.send_signal(signal.SIGINT)  # what Ctrl-C sends
    try:
        _, err = await asyncio.wait_for(first.communicate(), 60)
    finally:
        holding[0] = False
        released.set()  # the interrupted stream's part 2 is written now
    assert first.returncode == 130, err.decode()
    assert f"upload {upload} stopped with" in err.decode()
    assert "run the same command again to resume it" in err.decode()
    # The part on its way when the stream broke is still recorded, so the client resumes
    # after it.
    assert before_interrupt == blobs.part_size
    part_2_end = 2 * blobs.part_size

    async def settled() -> int:
        return await committed(upload) == part_2_end and part_2_end

    resume_from = await eventually(settled, within=30, what="the held part recorded")
    assert resume_from < size

    received_before = uploaded_bytes()
    second = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(second.communicate(), 300)

    assert second.returncode == 0, err.decode()
    assert f"resuming upload {upload} from {resume_from / 1e6:.1f} MB" in err.decode()
    sent = uploaded_bytes() - received_before
    assert sent == size - resume_from < size
    job_id = out.decode().strip()
    assert job_id == upload  # the resumed upload made the job, not a new one
    messages = await run_to_end(stub, job_id, auth)
    # The recording is inaudible noise, so the one job ends as a recording without speech
    # does: FAILED with reason NO_SPEECH (whole, not cut short by the interruption).
    last = messages[-1].event.state_changed
    assert last.state == job_pb2.JOB_STATE_FAILED and "No speech" in last.reason, last
    assert [job["job_id"] for job in await listed_jobs(deployment)] == [job_id]
    assert remembered_upload(private_state_dir) is None  # forgotten once done


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
async def test_jobs_watch_reattaches_and_prints_like_follow(deployment: Deployment) -> None:
    code, out, err = await consulta(deployment, "transcribe", str(SAMPLE))
    assert code == 0, err
    job_id = out.strip()

    code, out, err = await consulta(deployment, "jobs", "watch", job_id)

    assert code == 0, err
    assert "middle finger" in out.lower()
    assert "SUBJECTIVE" in out.upper()
    assert out.splitlines()[0].startswith("[00:00.0 - ")
    assert "completed" in err
    code, _, _ = await consulta(deployment, "jobs", "watch", "no-such-job")
    assert code == 1
