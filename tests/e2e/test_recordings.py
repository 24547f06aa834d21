"""Recordings as clinics make them, through the CLI and a real server: cut off by a crashed
recorder or a dead phone, recorded over a telephone line, too quiet, clipped. What decodes is
transcribed, and the job says what was wrong (Job.warnings), shown by the CLI."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from core.audio import decode_pcm
from tests.e2e.audio import SAMPLE, wav_bytes
from tests.e2e.deployment import Deployment
from tests.e2e.test_cli import consulta


def pcm_wav(samples: npt.NDArray[np.float32], rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


async def transcribe(
    deployment: Deployment, path: Path, *args: str
) -> tuple[dict[str, object], str, str]:
    """``consulta --json transcribe``: the job as first printed, the rest of stdout, stderr."""
    code, out, err = await consulta(deployment, "--json", "transcribe", str(path), *args)
    assert code == 0, err
    first, _, rest = out.partition("\n")
    job: dict[str, object] = json.loads(first)["job"]
    return job, rest, err


def warnings_of(job: dict[str, object]) -> dict[str, dict[str, object]]:
    listed = job.get("warnings")
    assert isinstance(listed, list)
    return {str(w["reason"]).removeprefix("JOB_WARNING_REASON_"): w for w in listed}


def transcript_text(follow_lines: str) -> str:
    events = [json.loads(line) for line in follow_lines.splitlines() if line.strip()]
    return " ".join(
        e["event"]["segment"]["text"] for e in events if "segment" in e.get("event", {})
    ).lower()


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
async def test_a_wav_whose_body_ends_early_is_transcribed_with_a_warning(
    deployment: Deployment, tmp_path: Path
) -> None:
    whole = wav_bytes(seconds=20)
    path = tmp_path / "crashed-recorder.wav"
    path.write_bytes(whole[: len(whole) // 2])  # the header still says 20 s

    job, follow, _ = await transcribe(deployment, path, "--follow")

    warning = warnings_of(job)["TRUNCATED_AUDIO"]
    assert warning["seconds_kept"] == pytest.approx(10.0, abs=0.01)
    assert warning["seconds_expected"] == pytest.approx(20.0, abs=0.01)
    assert job["audio_duration_seconds"] == pytest.approx(10.0, abs=0.01)
    assert json.loads(follow.splitlines()[-1])["event"]["state_changed"]["state"] == (
        "JOB_STATE_COMPLETED"
    )
    # "41-year-old" or "41 year old": tiny.en's beam search writes either, run to run.
    text = transcript_text(follow).replace("-", " ")
    assert "41 year old" in text and "pain" in text, text  # the first 10 s, and no more
    assert "x ray" not in text
    # Without --json the warning is one line on stderr, with its reason.
    code, out, err = await consulta(deployment, "jobs", "get", str(job["job_id"]))
    assert code == 0, err
    assert "10.0 s of the 20.0 s" in out and "[TRUNCATED_AUDIO]" in out


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
async def test_an_mp3_cut_midway_is_transcribed_with_a_warning(
    deployment: Deployment, tmp_path: Path
) -> None:
    data = SAMPLE.read_bytes()
    path = tmp_path / "phone-died.mp3"
    path.write_bytes(data[: int(len(data) * 0.4)])

    code, out, err = await consulta(deployment, "transcribe", str(path), "--follow")

    assert code == 0, err
    assert "warning: The recording ends early: 33.4 s of the 83.7 s" in err
    assert "[TRUNCATED_AUDIO]" in err
    assert "middle finger" in out.lower()


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
async def test_telephone_audio_at_8_khz_is_transcribed_and_flagged(
    deployment: Deployment, tmp_path: Path
) -> None:
    # The sample's first 30 s as a telephone line carries it: 8 kHz, band-limited by the
    # resampler's own low-pass filter.
    narrow = decode_pcm(SAMPLE, sample_rate=8000)[: 30 * 8000]
    path = tmp_path / "phone-visit.wav"
    path.write_bytes(pcm_wav(narrow, 8000))

    job, follow, _ = await transcribe(deployment, path, "--follow")

    warning = warnings_of(job)["LOW_SAMPLE_RATE"]
    assert warning["sample_rate_hz"] == 8000
    assert job["audio_duration_seconds"] == pytest.approx(30.0, abs=0.01)
    text = transcript_text(follow)
    # tiny.en hears narrowband speech worse than wideband, but it hears it: the 8 kHz audio
    # reaches the model correctly resampled to 16 kHz, not as noise. Which words it misses
    # varies with the CPU's vector instructions ("x-ray" came out "s-ray" on one machine),
    # so three of these four must be heard; noise would give none.
    words = text.replace("-", " ")  # "41-year-old" with a beam of 5, "41 year old" greedy
    heard = [w for w in ("41 year old", "pain", "middle finger", "x ray") if w in words]
    assert len(heard) >= 3, text


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
@pytest.mark.parametrize(
    ("gain", "reason"), [(0.004, "LOW_LEVEL"), (25.0, "CLIPPED_AUDIO")], ids=["quiet", "clipped"]
)
async def test_poor_audio_gets_a_warning_and_is_still_accepted(
    deployment: Deployment, tmp_path: Path, gain: float, reason: str
) -> None:
    speech = decode_pcm(SAMPLE, sample_rate=16000)[: 6 * 16000]
    path = tmp_path / f"{reason.lower()}.wav"
    path.write_bytes(pcm_wav(speech * gain, 16000))

    job, _, _ = await transcribe(deployment, path)

    assert list(warnings_of(job)) == [reason]
    assert job["state"] == "JOB_STATE_QUEUED"


@pytest.mark.parametrize("kind", ["embedded"], indirect=True)
async def test_a_clean_recording_has_no_warnings(deployment: Deployment, tmp_path: Path) -> None:
    path = tmp_path / "clean.wav"
    path.write_bytes(wav_bytes(seconds=6))

    job, _, err = await transcribe(deployment, path)

    assert job["warnings"] == []
    assert "warning" not in err
