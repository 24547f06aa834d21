"""The one wording of the recording-length limit, for every reader of audio (core/audio.py
with FFmpeg, core/wav_pcm.py without it)."""

from __future__ import annotations

from core.errors import OutOfRange


def check_duration(seconds: float, max_seconds: float) -> None:
    """OutOfRange AUDIO_TOO_LONG when ``seconds`` of audio pass ``max_seconds``."""
    if seconds > max_seconds:
        raise OutOfRange(
            f"The audio lasts {_hours(seconds)} or more; this service takes at most "
            f"{_hours(max_seconds)} per recording. Split it into shorter recordings.",
            reason="AUDIO_TOO_LONG",
        )


def _hours(seconds: float) -> str:
    return f"{round(seconds / 3600, 1):g} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"
