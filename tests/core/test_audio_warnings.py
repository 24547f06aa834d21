"""Audio that is transcribed with a warning, at the probe: cut short, narrowband, quiet,
clipped; and narrowband audio reaching the speech model correctly resampled to 16 kHz."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from faster_whisper.audio import decode_audio

from core.audio import decode_blocks, decode_pcm, probe
from core.errors import AudioError

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "consultation.mp3"


def write_wav(path: Path, pcm: npt.NDArray[np.float32], rate: int, width: int = 2) -> Path:
    scale = {1: 127, 2: 32767, 4: 2**31 - 1}[width]
    values = np.clip(pcm, -1, 1) * scale
    data = (values + 128).astype("u1") if width == 1 else values.astype(f"<i{width}")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.tobytes())
    return path


@pytest.fixture(scope="module")
def speech() -> npt.NDArray[np.float32]:
    return decode_pcm(SAMPLE, sample_rate=16000)[: 20 * 16000]


def reasons(path: Path) -> list[str]:
    return [w.reason for w in probe(path).warnings]


@pytest.mark.parametrize("width", [1, 2, 4], ids=["u8", "s16", "s32"])
def test_clean_speech_has_no_warning_in_any_sample_format(
    tmp_path: Path, speech: npt.NDArray[np.float32], width: int
) -> None:
    assert reasons(write_wav(tmp_path / "a.wav", speech, 16000, width)) == []


def test_quiet_and_clipped_audio_are_told_apart(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    assert reasons(write_wav(tmp_path / "quiet.wav", speech * 0.004, 16000)) == ["LOW_LEVEL"]
    assert reasons(write_wav(tmp_path / "loud.wav", speech * 25, 16000)) == ["CLIPPED_AUDIO"]


def test_a_cut_wav_keeps_what_decodes_and_says_how_much(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    whole = write_wav(tmp_path / "whole.wav", speech, 16000).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: 44 + 2 * 16000 * 7])

    info = probe(cut)

    (warning,) = info.warnings
    assert warning.reason == "TRUNCATED_AUDIO"
    assert (warning.seconds_kept, warning.seconds_expected) == (7.0, 20.0)
    assert info.duration == pytest.approx(7.0)


def test_a_file_with_nothing_decodable_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "header-only.wav"
    header = write_wav(tmp_path / "w.wav", np.zeros(1600, np.float32), 16000).read_bytes()[:44]
    path.write_bytes(header)
    with pytest.raises(AudioError) as caught:
        probe(path)
    assert caught.value.reason == "EMPTY_AUDIO"


def test_8_khz_audio_is_flagged_and_resampled_faithfully_by_both_decoders(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    telephone = decode_pcm(SAMPLE, sample_rate=8000)[: 20 * 8000]
    narrow = write_wav(tmp_path / "phone.wav", telephone, 8000)
    (warning,) = probe(narrow).warnings
    assert (warning.reason, warning.sample_rate_hz) == ("LOW_SAMPLE_RATE", 8000)

    # faster-whisper's own decoder and ours (decode_blocks, which every engine reads audio
    # through): both must give 16 kHz audio whose telephone band is the original's.
    for decoded in (decode_audio(str(narrow)), np.concatenate(list(decode_blocks(narrow)))):
        assert len(decoded) == pytest.approx(len(speech), abs=16)
        n = min(len(decoded), len(speech))
        a, b = np.fft.rfft(speech[:n]), np.fft.rfft(decoded[:n])
        band = np.fft.rfftfreq(n, 1 / 16000) < 3500
        similarity = abs(np.vdot(a[band], b[band])) / np.sqrt(
            np.vdot(a[band], a[band]).real * np.vdot(b[band], b[band]).real
        )
        assert similarity > 0.99
