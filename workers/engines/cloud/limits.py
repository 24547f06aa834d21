"""Per-provider rate limits, shared by every engine of one process.

Two leaky buckets per provider: requests per minute, and tokens per minute (estimated before
the call, since the true count is known only after). Limits are per process; the worker's
concurrency times the number of processes should stay under the account's quota.
"""

from __future__ import annotations

from aiolimiter import AsyncLimiter


class ProviderLimiter:
    """Waits until one more request of ``tokens`` tokens fits in both budgets."""

    def __init__(self, requests_per_minute: float, tokens_per_minute: float) -> None:
        self._requests = AsyncLimiter(requests_per_minute, 60) if requests_per_minute > 0 else None
        self._tokens = AsyncLimiter(tokens_per_minute, 60) if tokens_per_minute > 0 else None

    async def acquire(self, tokens: int = 0) -> None:
        if self._requests is not None:
            await self._requests.acquire()
        if self._tokens is not None and tokens > 0:
            # A request larger than the whole minute's budget may still go, alone.
            await self._tokens.acquire(min(float(tokens), self._tokens.max_rate))


_LIMITERS: dict[tuple[str, float, float], ProviderLimiter] = {}


def limiter_for(
    provider: str, requests_per_minute: float, tokens_per_minute: float
) -> ProviderLimiter:
    """The process-wide limiter of ``provider`` (one per distinct configuration)."""
    key = (provider, requests_per_minute, tokens_per_minute)
    if key not in _LIMITERS:
        _LIMITERS[key] = ProviderLimiter(requests_per_minute, tokens_per_minute)
    return _LIMITERS[key]


def estimate_tokens(text: str) -> int:
    """A rough token count (four characters a token) for budgeting before a call."""
    return max(1, len(text) // 4)
