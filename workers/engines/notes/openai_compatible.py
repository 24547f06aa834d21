"""Notes from any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, OpenAI).

The official ``openai`` SDK pointed at the server's base URL. Servers that split a reasoning
model's thinking into ``reasoning_content`` keep it out of ``content``, which is all we read;
servers that leave ``<think>`` blocks in the content have them stripped by the shared loop.
"""

from __future__ import annotations

import openai

from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.limits import limiter_for
from workers.engines.errors import PermanentEngineError
from workers.engines.notes.prompting import SdkChatSummarizer
from workers.engines.transcribers.openai import openai_client


class OpenAICompatibleSummarizer(SdkChatSummarizer):
    """A note engine over ``/v1/chat/completions`` of a configurable server."""

    provider = "The OpenAI-compatible note server"

    def __init__(self, context: ProviderContext) -> None:
        s = context.settings
        super().__init__(
            context,
            limiter_for(
                f"openai_compatible:{s.openai_compatible_base_url}",
                s.openai_compatible_requests_per_minute,
                s.openai_compatible_tokens_per_minute,
            ),
        )
        if not s.openai_compatible_model:
            raise PermanentEngineError(
                "No model is set for the OpenAI-compatible note engine "
                "(CONSULTA_OPENAI_COMPATIBLE_MODEL)."
            )
        self.model = s.openai_compatible_model
        self.name = f"openai_compatible:{self.model}"

    async def make_client(self) -> openai.AsyncOpenAI:
        s = self._context.settings
        # Local servers usually take no key; the SDK insists on one, so send a dummy.
        key = await self._context.keys.get(s.openai_compatible_key_env, required=False)
        return openai_client(self._context, key or "none", s.openai_compatible_base_url)
