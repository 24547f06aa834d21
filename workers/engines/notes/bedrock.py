"""Notes from Amazon Bedrock's ConverseStream through aioboto3 (DeepSeek-R1 by default).

ConverseStream answers with an AWS event stream: ``contentBlockDelta`` events carry either
answer ``text`` or ``reasoningContent``; only text is read. Throttling and service errors can
arrive before the stream (HTTP status) or inside it (exception events); both are translated
the same way. Credentials come from the standard AWS chain (environment, profile, role).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aioboto3
from botocore.config import Config

from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.limits import limiter_for
from workers.engines.notes.prompting import ChatSummarizer, Prompt


async def _text(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    async for event in events:
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        text = delta.get("text")
        if text:
            yield str(text)


class BedrockSummarizer(ChatSummarizer):
    """A note engine over Bedrock's ``/model/{modelId}/converse-stream``."""

    provider = "Amazon Bedrock"

    def __init__(self, context: ProviderContext) -> None:
        s = context.settings
        super().__init__(
            context,
            limiter_for("bedrock", s.bedrock_requests_per_minute, s.bedrock_tokens_per_minute),
        )
        self._model = s.bedrock_model_id
        self.name = f"bedrock:{self._model}"
        self._session = aioboto3.Session()
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    async def _get_client(self) -> Any:
        if self._client is None:
            s = self._context.settings
            config = Config(
                connect_timeout=s.provider_connect_timeout_seconds,
                read_timeout=s.provider_timeout_seconds,
                # One attempt: our retry policy decides, with the budget the worker knows.
                retries={"total_max_attempts": 1, "mode": "standard"},
            )
            kwargs: dict[str, Any] = {"region_name": s.bedrock_region, "config": config}
            if s.bedrock_endpoint_url:
                kwargs["endpoint_url"] = s.bedrock_endpoint_url
            stack = AsyncExitStack()
            self._client = await stack.enter_async_context(
                self._session.client("bedrock-runtime", **kwargs)
            )
            self._stack = stack
        return self._client

    async def aclose(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
            self._client = None

    async def open_text_stream(self, prompt: Prompt) -> AsyncIterator[str]:
        client = await self._get_client()
        s = self._context.settings
        answer = await client.converse_stream(
            modelId=self._model,
            system=[{"text": prompt.system}],
            messages=[{"role": "user", "content": [{"text": prompt.user}]}],
            inferenceConfig={"maxTokens": s.note_max_tokens, "temperature": s.note_temperature},
        )
        return _text(answer["stream"])
