"""Speech encoded the way recorders and browsers send it, for tests of code that decodes
audio as it arrives: the committed sample's opening, and the encoder the tests share with
bench/ (app/devstack/audio_encode.py)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from app.devstack.audio_encode import FORMATS, RATE, encode
from core.audio import decode_pcm
from tests.e2e.audio import SAMPLE

__all__ = ["FORMATS", "RATE", "encode", "sample_speech"]


def sample_speech(seconds: float) -> npt.NDArray[np.float32]:
    """The first ``seconds`` of the committed consultation (espeak-ng voices), 16 kHz mono."""
    return decode_pcm(SAMPLE)[: int(seconds * RATE)]
