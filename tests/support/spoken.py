"""A short consultation spoken by espeak-ng, with who speaks when: the truth that speaker
tests score against (``make tools`` installs espeak-ng)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.audio import decode_pcm
from core.domain import Speaker

RATE = 16000
PAUSE_SECONDS = 0.4
#: The evaluation's voices (``eval.wer.VOICES``): a British male clinician, a US female patient.
CLINICIAN_VOICE, PATIENT_VOICE = "en-gb", "en-us+f3"

C, P = Speaker.CLINICIAN, Speaker.PATIENT
DIALOGUE: tuple[tuple[Speaker, str], ...] = (
    (C, "Good morning. What brings you in today?"),
    (P, "I have had a sore throat for three days, and my ears hurt."),
    (C, "Any fever or chills?"),
    (P, "Yes, a low fever last night."),
    (C, "Are you taking any medicines right now?"),
    (P, "Only ibuprofen, two tablets in the evening."),
    (C, "Let me look at your throat. Open wide please."),
    (P, "Okay."),
    (C, "Your tonsils are red and swollen. I am going to test you for strep."),
    (P, "Will I need antibiotics?"),
    (C, "If the test is positive, I will prescribe amoxicillin for ten days."),
    (P, "Thank you, doctor. I feel tired and I can't sleep well."),
)


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: Speaker
    text: str
    start: float
    end: float


def speak(out: Path, *, same_voice: bool = False) -> list[Turn]:
    """DIALOGUE as a 16 kHz mono WAV at ``out``, turns in order with a short pause between;
    with ``same_voice`` both roles use the clinician's voice. Returns the turns' times."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is missing: `make tools` installs it"
    pieces: list[np.ndarray] = []
    turns: list[Turn] = []
    cursor = 0.0
    pause = np.zeros(int(PAUSE_SECONDS * RATE), dtype=np.float32)
    with tempfile.TemporaryDirectory() as folder:
        for n, (speaker, text) in enumerate(DIALOGUE):
            voice = CLINICIAN_VOICE if same_voice or speaker == C else PATIENT_VOICE
            wav = Path(folder) / f"{n}.wav"
            subprocess.run([espeak, "-v", voice, "-w", str(wav), text], check=True, timeout=60)
            pcm = decode_pcm(wav, sample_rate=RATE)
            turns.append(Turn(speaker, text, cursor, cursor + len(pcm) / RATE))
            pieces.extend([pcm, pause])
            cursor += (len(pcm) + len(pause)) / RATE
    track = np.concatenate(pieces)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(track, -1, 1) * 32767).astype("<i2").tobytes())
    return turns


def truth_at(turns: list[Turn], seconds: float) -> Speaker:
    """Who was speaking at ``seconds`` (the nearest turn during a pause)."""
    return min(
        turns,
        key=lambda t: (
            0.0
            if t.start <= seconds <= t.end
            else min(abs(t.start - seconds), abs(t.end - seconds))
        ),
    ).speaker
