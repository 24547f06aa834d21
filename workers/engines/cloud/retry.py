"""Provider calls retried with exponential backoff and full jitter, within a budget.

One policy for every provider: a call is tried up to ``max_attempts`` times; between tries
we wait the longer of what the provider asked (``retry-after``) and a jittered exponential
backoff; we never start a wait that would end past ``budget_seconds``. When the budget or the
attempts run out the last :class:`RetryableEngineError` goes up, carrying ``retry_after``, so
the worker retries the whole job later instead of holding a slot.

The SDKs' own retries are switched off (``max_retries=0``, botocore ``max_attempts=1``) so
that this is the only place that decides.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
)

from workers.engines.cloud.errors import translate
from workers.engines.cloud.settings import ProviderSettings
from workers.engines.errors import RetryableEngineError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one provider call is tried before the job is handed back to the worker."""

    max_attempts: int = 4
    budget_seconds: float = 90.0
    initial_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    #: Longest one attempt may take from start to last byte. The read timeout catches a
    #: provider that stalls; this catches one that drips slowly for ever.
    call_deadline_seconds: float = 900.0

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> RetryPolicy:
        return cls(
            max_attempts=settings.provider_max_attempts,
            budget_seconds=settings.provider_retry_budget_seconds,
            initial_backoff_seconds=settings.provider_backoff_initial_seconds,
            max_backoff_seconds=settings.provider_backoff_max_seconds,
            call_deadline_seconds=settings.provider_call_deadline_seconds,
        )

    def wait(self, state: RetryCallState) -> float:
        """Full jitter (AWS architecture blog) under the cap, but never less than asked."""
        ceiling = min(
            self.max_backoff_seconds,
            self.initial_backoff_seconds * 2 ** (state.attempt_number - 1),
        )
        backoff = random.uniform(0, ceiling)
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        asked = exc.retry_after if isinstance(exc, RetryableEngineError) else None
        return max(backoff, asked or 0.0)


async def call_with_retries(
    provider: str,
    policy: RetryPolicy,
    call: Callable[[], Awaitable[T]],
    *,
    secrets: Iterable[str] = (),
) -> T:
    """``await call()`` under ``policy``; every failure leaves as an EngineError."""
    hidden = tuple(secrets)

    async def attempt() -> T:
        deadline = asyncio.timeout(policy.call_deadline_seconds)
        try:
            async with deadline:
                return await call()
        except Exception as exc:
            if deadline.expired():
                raise RetryableEngineError(
                    f"{provider} took longer than {policy.call_deadline_seconds:g} s to answer."
                ) from exc
            raise translate(provider, exc, hidden) from exc

    def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        log.warning(
            "%s call failed (attempt %d of %d), retrying in %.2fs: %s",
            provider,
            state.attempt_number,
            policy.max_attempts,
            state.upcoming_sleep,
            exc,
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.budget_seconds),
        wait=policy.wait,
        retry=retry_if_exception_type(RetryableEngineError),
        before_sleep=before_sleep,
        reraise=True,
    )
    return await retrying(attempt)


async def open_stream(
    provider: str,
    policy: RetryPolicy,
    start: Callable[[], Awaitable[AsyncIterator[T]]],
    *,
    secrets: Iterable[str] = (),
) -> AsyncIterator[T]:
    """Items of a provider stream; opening it and its first item are retried under ``policy``.

    Once an item has been handed on it cannot be taken back (a WatchJob client has seen it),
    so a failure later in the stream is not retried here: it leaves as an EngineError and the
    worker retries the job.
    """
    hidden = tuple(secrets)

    async def first() -> tuple[AsyncIterator[T], T | _End]:
        stream = await start()
        try:
            return stream, await anext(stream)
        except StopAsyncIteration:
            return stream, _END

    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.call_deadline_seconds
    stream, head = await call_with_retries(provider, policy, first, secrets=hidden)
    if isinstance(head, _End):
        return
    yield head
    try:
        async for item in stream:
            if loop.time() > deadline:
                raise RetryableEngineError(
                    f"{provider} was still answering after {policy.call_deadline_seconds:g} s."
                )
            yield item
    except Exception as exc:
        raise translate(provider, exc, hidden) from exc


class _End:
    """Marks a stream that ended before its first item."""


_END = _End()
