"""Asking a chat model for a clinical note, and reading its streamed answer.

The model is asked for a line format rather than JSON, because the note streams to WatchJob
as it is written and a half-written JSON document is neither readable nor parseable::

    ## subjective
    Headache for three days, worse in the morning. [0, 2]
    ## plan
    Ibuprofen 400 mg every 8 hours. [7]

Each line is one sentence ending in the ids of the transcript segments that support it (the
evidence links). :class:`NoteStreamParser` turns completed lines into :class:`NoteDelta`\\ s
(the same text :meth:`Note.render` gives) and, at the end, the whole :class:`Note`.
:class:`ChatSummarizer` holds the loop every chat engine shares; an adapter only opens the
stream of answer text.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from abc import abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from core.domain import Note, NoteSection, NoteSentence, Transcript
from workers.engines.base import NoteDelta, NoteRequest, NoteUpdate, Summarizer
from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.limits import ProviderLimiter, estimate_tokens
from workers.engines.cloud.reasoning import ThinkStripper
from workers.engines.cloud.retry import open_stream
from workers.engines.cloud.templates import Section, language_name, sections_for
from workers.engines.errors import PermanentEngineError

log = logging.getLogger(__name__)

_EVIDENCE = re.compile(r"\[\s*((?:[Ss#]?\d+\s*[,;]?\s*)+)\]")
_INLINE_HEADING = re.compile(r"^\s*(?:#+\s*)?\**([^:*#\[\]]{2,60}?)\**\s*:\**\s+(\S.*)$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass(frozen=True, slots=True)
class Prompt:
    """What a chat model is sent: instructions (system) and the transcript (user)."""

    system: str
    user: str


def format_transcript(transcript: Transcript) -> str:
    """One line a segment: ``[id] ROLE: text``, the ids the model cites."""
    return "\n".join(
        f"[{s.id}] {s.speaker.value.upper()}: {' '.join(s.text.split())}"
        for s in transcript.segments
    )


def build_prompt(
    transcript: Transcript, request: NoteRequest, sections: tuple[Section, ...]
) -> Prompt:
    """The system and user messages that ask for a note in the line format."""
    language = language_name(request.language)
    lines = "\n".join(f"## {s.key}\n    ({s.title}: {s.instruction})" for s in sections)
    system = (
        "You are a medical scribe. From the consultation transcript, write a clinical note "
        f"in {language}.\n"
        "Write exactly these sections, in this order, each starting with its heading line "
        "written exactly as shown (## and the key):\n"
        f"{lines}\n"
        "Under each heading write one sentence per line. End every sentence with the ids of "
        "the transcript segments that support it, in square brackets, e.g. [3, 4]. "
        "State only what the transcript supports; write 'Not discussed.' with no ids when a "
        "section has nothing. No other text, no markdown besides the headings."
    )
    user = f"Transcript (language {transcript.language}):\n{format_transcript(transcript)}"
    return Prompt(system, user)


def _fold(text: str) -> str:
    """Lower case, no accents, words joined by underscores: how headings are matched."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


class _Delta(Protocol):
    @property
    def content(self) -> str | None: ...


class _Choice(Protocol):
    @property
    def delta(self) -> _Delta: ...


class _Chunk(Protocol):
    @property
    def choices(self) -> Sequence[_Choice]: ...


async def answer_text(chunks: AsyncIterator[_Chunk]) -> AsyncIterator[str]:
    """The answer text of a chat completion stream, OpenAI's or Groq's (the same shape):
    ``content`` of the first choice. Reasoning fields are never read."""
    async for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


class NoteStreamParser:
    """Reads the line format as it streams; yields deltas for each completed line."""

    def __init__(self, sections: tuple[Section, ...], valid_ids: set[int]) -> None:
        self._sections = sections
        self._valid = valid_ids
        self._by_name: dict[str, Section] = {}
        for s in sections:
            self._by_name[_fold(s.key)] = s
            self._by_name[_fold(s.title)] = s
        self._sentences: dict[str, list[NoteSentence]] = {s.key: [] for s in sections}
        self._current: Section | None = None
        self._started = False
        self._buffer = ""

    def feed(self, text: str) -> list[NoteDelta]:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        return [d for line in lines for d in self._split_inline(line)]

    def finish(self) -> list[NoteDelta]:
        line, self._buffer = self._buffer, ""
        return self._split_inline(line)

    def _split_inline(self, line: str) -> list[NoteDelta]:
        """Models sometimes write "Plan: Rest for a week. [3]" on one line: a heading and
        its first sentence."""
        match = _INLINE_HEADING.match(line)
        if match and _fold(match.group(1)) in self._by_name:
            heading, rest = match.group(1) + ":", match.group(2)
            return [d for part in (heading, rest) if (d := self._line(part)) is not None]
        delta = self._line(line)
        return [delta] if delta is not None else []

    def _heading(self, line: str) -> Section | None:
        stripped = line.strip()
        marked = stripped.startswith("#") or (stripped.startswith("**") and stripped.endswith("**"))
        name = _fold(stripped.strip("#*: "))
        if marked or stripped.endswith(":") or stripped.isupper():
            return self._by_name.get(name)
        return None

    def _line(self, line: str) -> NoteDelta | None:
        if not line.strip():
            return None
        section = self._heading(line)
        if section is not None:
            self._current = section
            prefix = "\n" if self._started else ""
            self._started = True
            return NoteDelta(section.key, f"{prefix}{section.title.upper()}\n")
        if line.lstrip().startswith("#"):
            log.info("note engine wrote a section we did not ask for; its lines are dropped")
            self._current = None
            return None
        if self._current is None:
            return None  # preamble before the first heading, or an unknown section
        ids: list[int] = []
        for group in _EVIDENCE.findall(line):
            ids += [int(n) for n in re.findall(r"\d+", group)]
        text = " ".join(_BULLET.sub("", _EVIDENCE.sub("", line)).split())
        if not text:
            return None
        evidence = tuple(dict.fromkeys(i for i in ids if i in self._valid))
        self._sentences[self._current.key].append(NoteSentence(text, evidence))
        return NoteDelta(self._current.key, text + "\n")

    def note(self, request: NoteRequest, engine: str) -> Note:
        """The whole note; PermanentEngineError when the model wrote no section at all."""
        if not self._started:
            raise PermanentEngineError(
                "The note engine's answer had none of the note's sections; it did not follow "
                "the note format."
            )
        return Note(
            template=request.template,
            language=request.language,
            sections=tuple(
                NoteSection(s.key, s.title, tuple(self._sentences[s.key])) for s in self._sections
            ),
            engine=engine,
        )


class ChatSummarizer(Summarizer):
    """A note engine over a streaming chat API: prompt, stream, strip reasoning, parse."""

    provider: str

    def __init__(self, context: ProviderContext, limiter: ProviderLimiter) -> None:
        self._context = context
        self._limiter = limiter

    @abstractmethod
    async def open_text_stream(self, prompt: Prompt) -> AsyncIterator[str]:
        """Start the model's answer; iterate answer text only (reasoning fields left out)."""

    async def summarize(
        self, transcript: Transcript, request: NoteRequest
    ) -> AsyncIterator[NoteUpdate]:
        settings = self._context.settings
        try:
            sections = sections_for(request.template.value, request.language, settings)
        except ValueError as exc:
            raise PermanentEngineError(
                f"The note template {request.template!r} is unknown."
            ) from exc
        prompt = build_prompt(transcript, request, sections)
        tokens = estimate_tokens(prompt.system + prompt.user) + settings.note_max_tokens

        async def start() -> AsyncIterator[str]:
            await self._limiter.acquire(tokens)
            return await self.open_text_stream(prompt)

        parser = NoteStreamParser(sections, {s.id for s in transcript.segments})
        stripper = ThinkStripper()
        stream = open_stream(
            self.provider, self._context.policy, start, secrets=self._context.keys.known()
        )
        async for piece in stream:
            for delta in parser.feed(stripper.feed(piece)):
                yield delta
        for delta in [*parser.feed(stripper.flush()), *parser.finish()]:
            yield delta
        yield parser.note(request, self.name)


class SdkChatSummarizer(ChatSummarizer):
    """A note engine over an OpenAI-shaped SDK (``openai`` or ``groq``: the same
    ``chat.completions.create`` arguments and stream chunks). The client is made on first
    use by :meth:`make_client` and closed with the engine; subclasses add only what differs.

    The client is typed ``Any`` because the two SDKs share a shape but no base class.
    """

    #: The model name sent with each request.
    model: str

    def __init__(self, context: ProviderContext, limiter: ProviderLimiter) -> None:
        super().__init__(context, limiter)
        self._client: Any = None

    @abstractmethod
    async def make_client(self) -> Any:
        """A new SDK client with its key, base URL and our timeouts (its own retries off)."""

    def request_options(self) -> dict[str, Any]:
        """Arguments for ``create`` beyond the shared ones (none by default)."""
        return {}

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def open_text_stream(self, prompt: Prompt) -> AsyncIterator[str]:
        if self._client is None:
            self._client = await self.make_client()
        settings = self._context.settings
        stream = await self._client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            stream=True,
            temperature=settings.note_temperature,
            max_tokens=settings.note_max_tokens,
            **self.request_options(),
        )
        return answer_text(stream)
