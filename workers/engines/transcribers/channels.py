"""Who speaks: channels of a multi-channel recording, and diarization labels, as roles.

A telehealth or dictation setup often records the clinician and the patient on separate
channels. :class:`ChannelTranscriber` wraps any engine (local or cloud): it transcribes each
channel alone and labels its segments with that channel's role, which beats any diarizer.
A recording whose channels carry the same signal is treated as mono.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import av
import numpy as np

from core.audio import decode_blocks
from core.domain import Segment, Speaker
from workers.engines.base import (
    AudioFile,
    DetectedLanguage,
    Progress,
    TranscribeOptions,
    Transcriber,
    TranscriptionUpdate,
)
from workers.engines.errors import PermanentEngineError
from workers.engines.transcribers.flac import FlacWriter

# Largest sample difference between channels still called "the same signal" (16-bit
# rounding and resampling leave a little).
_SAME_TOLERANCE = 1e-3


def assign_roles(turns: Sequence[tuple[str, str]]) -> dict[str, Speaker]:
    """Roles for diarization labels ("A", "B"), from (label, text) turns in time order.

    Clinicians ask: the label with the most questions is the clinician (the first speaker
    on a tie, since clinicians usually open). The most talkative other label is the patient;
    everyone else is OTHER.
    """
    order: list[str] = []
    questions: dict[str, int] = {}
    words: dict[str, int] = {}
    for label, text in turns:
        if label not in questions:
            order.append(label)
            questions[label] = 0
            words[label] = 0
        questions[label] += text.count("?")
        words[label] += len(text.split())
    if not order:
        return {}
    clinician = max(order, key=lambda lb: (questions[lb], -order.index(lb)))
    roles = {label: Speaker.OTHER for label in order}
    roles[clinician] = Speaker.CLINICIAN
    others = [lb for lb in order if lb != clinician]
    if others:
        roles[max(others, key=lambda lb: (words[lb], -order.index(lb)))] = Speaker.PATIENT
    return roles


def _roles(names: Sequence[str], count: int) -> list[Speaker]:
    roles = []
    for i in range(count):
        try:
            roles.append(Speaker(names[i]) if i < len(names) else Speaker.OTHER)
        except ValueError:
            roles.append(Speaker.OTHER)
    return roles


def split_channels(path: Path, folder: Path) -> tuple[list[Path], bool]:
    """Each channel of ``path`` as a mono FLAC file in ``folder``, in one decoding pass, and
    whether every channel carried the same signal (a mono microphone on a stereo recorder).
    """
    writers: list[FlacWriter] = []
    paths: list[Path] = []
    same = True
    try:
        for block in decode_blocks(path, mono=False):
            if not writers:
                paths = [folder / f"channel{c}.flac" for c in range(block.shape[0])]
                writers = [FlacWriter(str(p)) for p in paths]
            for channel, writer in enumerate(writers):
                writer.write(block[channel])
            if same and block.shape[0] > 1:
                same = bool(np.abs(block[1:] - block[0]).max(initial=0.0) <= _SAME_TOLERANCE)
    finally:
        for writer in writers:
            writer.close()
    return paths, same


class ChannelTranscriber(Transcriber):
    """Transcribes each channel with ``inner`` and labels segments with the channel's role."""

    def __init__(self, inner: Transcriber, roles: Sequence[str]) -> None:
        self.inner = inner
        self.name = inner.name
        self._roles = tuple(roles)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def transcribe(
        self, audio: AudioFile, options: TranscribeOptions
    ) -> AsyncIterator[TranscriptionUpdate]:
        if audio.channels < 2:
            async for update in self.inner.transcribe(audio, options):
                yield update
            return
        with tempfile.TemporaryDirectory(prefix="consulta-channels-") as folder:
            try:
                paths, same = await asyncio.to_thread(split_channels, audio.path, Path(folder))
            except (OSError, ValueError, av.error.FFmpegError) as exc:
                raise PermanentEngineError(
                    "The audio could not be read to split its channels."
                ) from exc
            if same or len(paths) < 2:
                async for update in self.inner.transcribe(audio, options):
                    yield update
                return
            roles = _roles(self._roles, len(paths))
            total = audio.duration * len(roles)
            segments: list[Segment] = []
            language_told = False
            for channel, (path, role) in enumerate(zip(paths, roles, strict=True)):
                mono = AudioFile(path=path, duration=audio.duration, channels=1)
                done = channel * audio.duration
                async for update in self.inner.transcribe(mono, options):
                    if isinstance(update, Segment):
                        segments.append(
                            Segment(0, update.start, update.end, update.text, speaker=role)
                        )
                    elif isinstance(update, Progress):
                        yield Progress(done + update.processed_seconds, total, update.text_delta)
                    elif isinstance(update, DetectedLanguage) and not language_told:
                        language_told = True
                        yield update
        segments.sort(key=lambda s: (s.start, s.end))
        for i, segment in enumerate(segments):
            yield Segment(i, segment.start, segment.end, segment.text, segment.speaker)
