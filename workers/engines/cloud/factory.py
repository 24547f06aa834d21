"""Cloud engines by name, for the engine registry (which keeps "local" to itself).

Transcribers: "openai" (gpt-4o-transcribe, or the model in settings), "openai-diarize",
"groq". Note engines: "groq", "bedrock", "openai_compatible". Transcribers come wrapped in
:class:`ChannelTranscriber`, so two-channel recordings get a role per channel.
"""

from __future__ import annotations

from functools import cache

from workers.engines.base import Summarizer, Transcriber
from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.settings import ProviderSettings

TRANSCRIBERS = ("openai", "openai-diarize", "groq")
SUMMARIZERS = ("groq", "bedrock", "openai_compatible")


@cache
def _context() -> ProviderContext:
    # One per process: engines share the secret lookup and the settings read once.
    return ProviderContext.from_settings(ProviderSettings())


def shared_context() -> ProviderContext:
    """The process's provider context (settings, keys, retry policy), for engines built
    outside this factory such as the live ones."""
    return _context()


def build_transcriber(name: str, context: ProviderContext | None = None) -> Transcriber:
    """The cloud transcriber called ``name``; ValueError for a name we do not know."""
    ctx = context or _context()
    inner: Transcriber
    if name == "openai":
        from workers.engines.transcribers.openai import OpenAITranscriber

        inner = OpenAITranscriber(ctx)
    elif name == "openai-diarize":
        from workers.engines.transcribers.openai import OpenAITranscriber

        inner = OpenAITranscriber(ctx, diarize=True)
    elif name == "groq":
        from workers.engines.transcribers.groq import GroqTranscriber

        inner = GroqTranscriber(ctx)
    else:
        raise ValueError(f"unknown transcriber {name!r}; cloud ones are {', '.join(TRANSCRIBERS)}")
    from workers.engines.transcribers.channels import ChannelTranscriber

    return ChannelTranscriber(inner, ctx.settings.channel_roles)


def build_summarizer(name: str, context: ProviderContext | None = None) -> Summarizer:
    """The cloud note engine called ``name``; ValueError for a name we do not know."""
    ctx = context or _context()
    if name == "groq":
        from workers.engines.notes.groq import GroqSummarizer

        return GroqSummarizer(ctx)
    if name == "bedrock":
        from workers.engines.notes.bedrock import BedrockSummarizer

        return BedrockSummarizer(ctx)
    if name == "openai_compatible":
        from workers.engines.notes.openai_compatible import OpenAICompatibleSummarizer

        return OpenAICompatibleSummarizer(ctx)
    raise ValueError(f"unknown note engine {name!r}; cloud ones are {', '.join(SUMMARIZERS)}")
