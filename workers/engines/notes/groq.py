"""Notes from Groq's chat API through the official ``groq`` SDK (DeepSeek where Groq serves
it; the model comes from settings).

Groq's reasoning models put their thinking in ``<think>`` blocks (``reasoning_format`` "raw")
or in a ``reasoning`` field ("parsed"); we ask for "parsed" when the model reasons, read only
``content``, and strip any blocks that still arrive.
"""

from __future__ import annotations

from typing import Any

import groq

from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.limits import limiter_for
from workers.engines.notes.prompting import SdkChatSummarizer

# Model name fragments of Groq's reasoning models, which take ``reasoning_format``.
_REASONING_MODELS = ("deepseek-r1", "qwen3", "qwq")


class GroqSummarizer(SdkChatSummarizer):
    """A note engine over Groq's ``/openai/v1/chat/completions``."""

    provider = "Groq"

    def __init__(self, context: ProviderContext) -> None:
        s = context.settings
        super().__init__(
            context, limiter_for("groq", s.groq_requests_per_minute, s.groq_tokens_per_minute)
        )
        self.model = s.groq_chat_model
        self.name = f"groq:{self.model}"

    async def make_client(self) -> groq.AsyncGroq:
        key = await self._context.keys.get("GROQ_API_KEY")
        return groq_client(self._context, key)

    def request_options(self) -> dict[str, Any]:
        if any(fragment in self.model.lower() for fragment in _REASONING_MODELS):
            return {"reasoning_format": "parsed"}
        return {}


def groq_client(context: ProviderContext, key: str) -> groq.AsyncGroq:
    """An SDK client without its own retries (ours decide) and with our timeouts."""
    s = context.settings
    return groq.AsyncGroq(
        api_key=key,
        base_url=s.groq_base_url or None,
        max_retries=0,
        timeout=groq.Timeout(
            s.provider_timeout_seconds, connect=s.provider_connect_timeout_seconds
        ),
    )
