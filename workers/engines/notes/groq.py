"""Notes from Groq's chat API through the official ``groq`` SDK (DeepSeek where Groq serves
it; the model comes from settings).

Groq's reasoning models put their thinking in ``<think>`` blocks (``reasoning_format`` "raw")
or in a ``reasoning`` field ("parsed"); we ask for "parsed" when the model reasons, read only
``content``, and strip any blocks that still arrive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import groq

from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.limits import limiter_for
from workers.engines.notes.prompting import ChatSummarizer, Prompt, answer_text

# Model name fragments of Groq's reasoning models, which take ``reasoning_format``.
_REASONING_MODELS = ("deepseek-r1", "qwen3", "qwq")


class GroqSummarizer(ChatSummarizer):
    """A note engine over Groq's ``/openai/v1/chat/completions``."""

    provider = "Groq"

    def __init__(self, context: ProviderContext) -> None:
        s = context.settings
        super().__init__(
            context, limiter_for("groq", s.groq_requests_per_minute, s.groq_tokens_per_minute)
        )
        self._model = s.groq_chat_model
        self.name = f"groq:{self._model}"
        self._client: groq.AsyncGroq | None = None

    async def _get_client(self) -> groq.AsyncGroq:
        if self._client is None:
            key = await self._context.keys.get("GROQ_API_KEY")
            self._client = groq_client(self._context, key)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def open_text_stream(self, prompt: Prompt) -> AsyncIterator[str]:
        client = await self._get_client()
        s = self._context.settings
        extra: dict[str, Any] = {}
        if any(fragment in self._model.lower() for fragment in _REASONING_MODELS):
            extra["reasoning_format"] = "parsed"
        stream = await client.chat.completions.create(
            model=self._model,
            messages=[
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            stream=True,
            temperature=s.note_temperature,
            max_tokens=s.note_max_tokens,
            **extra,
        )
        return answer_text(stream)


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
