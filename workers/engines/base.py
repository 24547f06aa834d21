"""The two engine ports. Every engine, local or cloud, implements one of these.

An engine streams what it produces: a transcriber yields progress and final segments, a
summarizer yields note deltas and ends with the whole note. The worker turns each item into a
WatchJob event and stores the final results; engines never touch the database or the queue.

Engines raise :class:`EngineError` subclasses (from ``workers/engines/errors.py``) and nothing
else: a provider's SDK exceptions are translated inside the adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from core.domain import Note, Segment, Template, Transcript


@dataclass(frozen=True, slots=True)
class AudioFile:
    """Audio on local disk, already checked to decode.

    ``path`` is the original file as uploaded (any supported container); ``duration`` is its
    length in seconds and ``channels`` its channel count, both read by the decoder.
    """

    path: Path
    duration: float
    channels: int = 1


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """What the caller asked of transcription.

    ``language`` is a BCP-47 code or None to detect; ``vocabulary`` holds words to expect
    (drug names, the clinician's terms) that engines with a prompt pass along.
    """

    language: str | None = None
    vocabulary: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Progress:
    """Transcription moved forward. ``text_delta`` is interim text, when the engine streams it."""

    processed_seconds: float
    total_seconds: float
    text_delta: str = ""


@dataclass(frozen=True, slots=True)
class DetectedLanguage:
    """The language the engine heard, yielded once when known (BCP-47), and the name of the
    model that transcribes it when the engine picks one by language (else empty)."""

    code: str
    engine: str = ""


TranscriptionUpdate = Progress | Segment | DetectedLanguage


class Transcriber(ABC):
    """Turns audio into transcript segments."""

    #: Engine name as stored in transcripts, for example "local:faster-whisper-tiny.en".
    name: str

    @abstractmethod
    def transcribe(
        self, audio: AudioFile, options: TranscribeOptions
    ) -> AsyncIterator[TranscriptionUpdate]:
        """Yield progress and final segments in time order (segment ids from 0)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most engines hold nothing
        """Release clients and pools."""


@dataclass(frozen=True, slots=True)
class NoteRequest:
    """What to write: the template and the language of the note (BCP-47, e.g. "es")."""

    template: Template = Template.SOAP
    language: str = "en"


@dataclass(frozen=True, slots=True)
class NoteDelta:
    """Interim note text: ``text`` appended to the rendered note, inside ``section_key``."""

    section_key: str
    text: str


NoteUpdate = NoteDelta | Note


class Summarizer(ABC):
    """Writes a clinical note from a transcript."""

    #: Engine name as stored in notes, for example "local:extractive".
    name: str

    @abstractmethod
    def summarize(self, transcript: Transcript, request: NoteRequest) -> AsyncIterator[NoteUpdate]:
        """Yield deltas as the note is written, and the whole :class:`Note` last."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most engines hold nothing
        """Release clients and pools."""
