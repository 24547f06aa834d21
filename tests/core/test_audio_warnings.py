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


@pytest.mark.parametrize("dtype", ["u1", "<i2", "<i4", "<f4"])
@pytest.mark.parametrize("layout", ["silence", "a louder stretch later", "at the clip bounds"])
def test_level_figures_skip_work_only_where_the_result_cannot_change(
    dtype: str, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches whose peak is no louder than the loudest frame so far, or whose extremes stay
    inside the clipping bounds, are not looked at sample by sample: the figures must be those
    of the brute-force rule (every frame's RMS, every sample compared in float)."""
    from core.audio_warnings import (
        _BATCH_SAMPLES,
        CLIP_LEVEL,
        LOW_LEVEL_RMS,
        LevelStats,
        _normalized,
    )

    kind = np.dtype(dtype)
    frame = 1024
    batch = _BATCH_SAMPLES // frame  # frames per batch the figures are computed on
    if kind.kind == "f":
        centre, unit, top, bottom = 0.0, 0.002, float(np.float32(CLIP_LEVEL)), -1.0
    else:
        half = 1 << (8 * kind.itemsize - 1)
        centre = float(half if kind.kind == "u" else 0)
        unit = float(max(1, round(0.002 * half)))
        top = float(np.ceil(np.float32(CLIP_LEVEL) * np.float64(half))) + centre
        bottom = centre - half
    # Square-wave frames: each frame's RMS is its peak.
    amplitudes = {
        "silence": [0.0] * (3 * batch),
        "a louder stretch later": [unit] * batch + [2 * unit] * batch + [unit] * batch,
        "at the clip bounds": [unit] * (3 * batch),
    }[layout]
    signs = np.tile([1.0, -1.0], frame // 2)
    values = np.concatenate([centre + a * signs for a in amplitudes])
    if layout == "at the clip bounds":
        if top <= np.iinfo(kind).max if kind.kind != "f" else True:  # u8 cannot reach it
            values[5 * frame + 3] = top  # exactly at the bound counts as clipped
        values[9 * frame + 8] = bottom
    values = values.astype(kind)
    measured: list[int] = []

    def counted(data: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
        measured.append(data.size)
        return _normalized(data)

    monkeypatch.setattr("core.audio_warnings._normalized", counted)
    levels = LevelStats()
    for start in range(0, values.size, 4096):  # as a decoder gives them, in pieces
        piece = values[start : start + 4096]
        levels.add_frames(piece, [frame] * (piece.size // frame))
    levels.warnings()
    # The shortcut did fire: silence is never measured frame by frame, and the quiet stretch
    # after the louder one is not either (its peak is below the loudest frame's RMS).
    assert (
        len(measured)
        == {"silence": 0, "a louder stretch later": 2, "at the clip bounds": 1}[layout]
    )
    normalized = _normalized(values).astype(np.float64)
    rms = np.sqrt((normalized.reshape(-1, frame) ** 2).mean(axis=1))
    expected_clipped = int(np.count_nonzero(normalized >= np.float32(CLIP_LEVEL))) + int(
        np.count_nonzero(normalized <= -np.float32(CLIP_LEVEL))
    )
    assert levels.clipped == expected_clipped
    assert (levels.clipped > 0) == (layout == "at the clip bounds")
    if rms.max() < LOW_LEVEL_RMS:
        assert levels.loudest_rms == pytest.approx(float(rms.max()), rel=1e-5, abs=1e-12)
    else:
        assert levels.loudest_rms >= LOW_LEVEL_RMS
