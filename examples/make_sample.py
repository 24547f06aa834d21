"""Synthesize examples/consultation.mp3 from ACI-Bench encounter D2N005 (train split).

Turns are taken verbatim from the dialogue (a selection, listed in TURNS), each spoken by
espeak-ng in one voice per speaker, joined with short pauses and encoded as MP3 with PyAV.
Run from the repository root: ``.venv/bin/python examples/make_sample.py``. Needs the
Debian package espeak-ng and ../shared/data (see examples/README.md for attribution).
"""

from __future__ import annotations

import csv
import re
import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np

from core.audio import decode_pcm

DATA = Path("../shared/data/aci-bench/data/challenge_data/train.csv")
ENCOUNTER = "D2N005"
TURNS = (2, 3, 7, 8, 13, 14, 21, 23, 24, 29, 31, 32, 33)
VOICES = {"doctor": "en-us", "patient": "en-us+f3"}
RATE = 16000
OUT = Path(__file__).parent


def speakable(text: str) -> str:
    """ACI-Bench text is tokenized ("okay . when"); espeak-ng would say "dot"."""
    text = re.sub(r"\s+([.,?!;:])", r"\1", text)
    return text.replace("gon na", "gonna").replace("wan na", "wanna").replace(" n't", "n't")


def turns() -> list[tuple[str, str]]:
    with DATA.open(newline="") as f:
        rows = {r["encounter_id"]: r for r in csv.DictReader(f)}
    lines = rows[ENCOUNTER]["dialogue"].split("\n")
    picked = []
    for index in TURNS:
        speaker, _, text = lines[index].partition("] ")
        picked.append((speaker.strip("["), speakable(text.strip())))
    return picked


def main() -> None:
    pause = np.zeros(int(0.35 * RATE), dtype=np.float32)
    pieces: list[np.ndarray] = []
    script = []
    with tempfile.TemporaryDirectory() as folder:
        for n, (speaker, text) in enumerate(turns()):
            wav = Path(folder) / f"{n}.wav"
            subprocess.run(
                ["espeak-ng", "-v", VOICES[speaker], "-s", "165", "-w", str(wav), text], check=True
            )
            pieces += [decode_pcm(wav, sample_rate=RATE), pause]
            script.append(f"[{speaker}] {text}")
    pcm = np.concatenate(pieces)
    target = OUT / "consultation.mp3"
    with av.open(str(target), mode="w") as container:
        stream = container.add_stream("libmp3lame", rate=RATE, layout="mono")
        stream.bit_rate = 48000
        frame_size = 1152
        for start in range(0, len(pcm), frame_size):
            chunk = pcm[start : start + frame_size].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    (OUT / "consultation.txt").write_text("\n".join(script) + "\n")
    print(f"{target}: {len(pcm) / RATE:.1f} s")


if __name__ == "__main__":
    main()
