"""The CLI's memory of unfinished uploads: private, keyed by the file's identity, and robust
to a damaged file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from clients.resume_state import PendingUploads, state_dir, upload_key

CONFIG = pb.UploadConfig(job=job_pb2.JobConfig(language_code="en"), filename="visit.wav")


def test_state_lives_under_xdg_state_home(private_state_dir: Path) -> None:
    assert state_dir() == private_state_dir / "consulta"
    assert PendingUploads.default().path == private_state_dir / "consulta" / "uploads.json"


def test_remembered_uploads_are_private_and_forgotten(private_state_dir: Path) -> None:
    pending = PendingUploads.default()
    pending.remember("k", "upload-1")

    assert pending.get("k") == "upload-1"
    assert stat.S_IMODE(pending.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pending.path.parent.stat().st_mode) == 0o700
    assert "upload-1" in pending.path.read_text()
    pending.forget("k")
    assert pending.get("k") is None


def test_a_damaged_state_file_means_start_over(private_state_dir: Path) -> None:
    pending = PendingUploads.default()
    pending.path.parent.mkdir(parents=True)
    pending.path.write_text("{not json")

    assert pending.get("k") is None
    pending.remember("k", "upload-2")
    assert pending.get("k") == "upload-2"


def test_the_key_changes_with_the_file_the_server_and_the_options(tmp_path: Path) -> None:
    audio = tmp_path / "visit.wav"
    audio.write_bytes(b"RIFF" + bytes(2000))
    key = upload_key(audio, "127.0.0.1:50051", CONFIG)

    assert upload_key(tmp_path / "." / "visit.wav", "127.0.0.1:50051", CONFIG) == key
    assert upload_key(audio, "127.0.0.1:50052", CONFIG) != key
    other = pb.UploadConfig(job=job_pb2.JobConfig(language_code="es"), filename="visit.wav")
    assert upload_key(audio, "127.0.0.1:50051", other) != key
    # Rewritten in place with the same size and time: the first MiB's hash still tells.
    before = audio.stat()
    audio.write_bytes(b"RIFF" + bytes(1999) + b"\x01")
    os.utime(audio, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert upload_key(audio, "127.0.0.1:50051", CONFIG) != key
