"""Helpers of the provider tests: fake keys and fast settings."""

from __future__ import annotations

from typing import Any

from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.settings import ProviderSettings

OPENAI_KEY = "sk-test-DO-NOT-LEAK-0123456789abcdef"
GROQ_KEY = "gsk_testDONOTLEAK0123456789abcdef"


def fast_settings(**overrides: Any) -> ProviderSettings:
    """Settings with short timeouts, a small retry budget and no rate limits to wait on."""
    values: dict[str, Any] = {
        "provider_timeout_seconds": 0.5,
        "provider_connect_timeout_seconds": 0.5,
        "provider_max_attempts": 3,
        "provider_retry_budget_seconds": 5.0,
        "provider_backoff_initial_seconds": 0.01,
        "provider_backoff_max_seconds": 0.05,
        "openai_requests_per_minute": 0,
        "groq_requests_per_minute": 0,
        "groq_tokens_per_minute": 0,
        "bedrock_requests_per_minute": 0,
        "openai_compatible_requests_per_minute": 0,
    }
    values.update(overrides)
    return ProviderSettings(**values)


def context(**overrides: Any) -> ProviderContext:
    return ProviderContext.from_settings(fast_settings(**overrides))
