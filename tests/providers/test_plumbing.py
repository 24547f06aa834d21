"""The shared cloud plumbing on its own: reasoning stripping, redaction, retry timing, limits."""

from __future__ import annotations

import itertools
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from workers.engines.base import AudioFile, TranscribeOptions
from workers.engines.cloud.errors import redact, retry_after_seconds
from workers.engines.cloud.limits import ProviderLimiter
from workers.engines.cloud.reasoning import ThinkStripper, strip_reasoning
from workers.engines.cloud.retry import RetryPolicy, call_with_retries
from workers.engines.errors import PermanentEngineError, RetryableEngineError
from workers.engines.transcribers.groq import GroqTranscriber

from .fakes.openai_api import FakeOpenAI
from .support import context

pytestmark = pytest.mark.providers

ANSWER = "<think>weigh <b>options</b>; </thin no</think>## plan\nRest <2 days>. [1]\n"


def test_think_blocks_are_stripped_wherever_the_stream_cuts_them() -> None:
    for size in range(1, len(ANSWER) + 1):
        stripper = ThinkStripper()
        pieces = [ANSWER[i : i + size] for i in range(0, len(ANSWER), size)]
        out = "".join(stripper.feed(p) for p in pieces) + stripper.flush()
        assert out == "## plan\nRest <2 days>. [1]\n", size


def test_reasoning_without_its_opening_tag_is_dropped() -> None:
    # DeepSeek-R1 chat templates open <think> in the prompt; only the close comes back.
    assert strip_reasoning("Let me think.\n## plan</think>## plan\nRest.") == "## plan\nRest."
    assert strip_reasoning("a <think>never closed") == "a "


def test_keys_are_redacted_by_value_and_by_shape() -> None:
    text = "key sk-proj-abcdef123456 or gsk_ABCdef123456 or AKIAABCDEFGHIJKLMNOP or mine=hunter22"
    assert redact(text, ["hunter22"]) == "key *** or *** or *** or mine=***"


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    later = retry_after_seconds({"retry-after": formatdate(time.time() + 30, usegmt=True)})
    assert later is not None and 25 < later <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds(None) is None


async def test_backoff_grows_with_jitter_and_never_undercuts_retry_after() -> None:
    policy = RetryPolicy(
        max_attempts=5, budget_seconds=10, initial_backoff_seconds=0.02, max_backoff_seconds=0.04
    )
    attempts: list[float] = []

    async def flaky() -> str:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise RetryableEngineError("busy", retry_after=0.2)
        if len(attempts) < 4:
            raise RetryableEngineError("busy")
        return "ok"

    assert await call_with_retries("Test", policy, flaky) == "ok"
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.2  # what the provider asked
    assert all(g < 0.15 for g in gaps[1:])  # capped at max_backoff, plus scheduling


async def test_no_wait_starts_past_the_budget_and_permanent_errors_are_not_retried() -> None:
    policy = RetryPolicy(max_attempts=10, budget_seconds=0.3, initial_backoff_seconds=0.01)
    calls = 0

    async def throttled() -> None:
        nonlocal calls
        calls += 1
        raise RetryableEngineError("slow down", retry_after=1.0)

    with pytest.raises(RetryableEngineError) as caught:
        await call_with_retries("Test", policy, throttled)
    assert calls == 1 and caught.value.retry_after == 1.0

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise PermanentEngineError("no")

    calls = 0
    with pytest.raises(PermanentEngineError):
        await call_with_retries("Test", policy, refused)
    assert calls == 1


async def test_token_budget_makes_the_next_request_wait() -> None:
    limiter = ProviderLimiter(requests_per_minute=0, tokens_per_minute=6000)  # 100 tokens/s
    started = time.monotonic()
    await limiter.acquire(6000)  # a full minute's budget goes at once
    # Not a timing target: waiting for the budget would take a minute, so a loaded machine's
    # delays stay far inside this bound.
    assert time.monotonic() - started < 5
    await limiter.acquire(30)  # then 30 tokens must drip back in: about 0.3 s
    assert time.monotonic() - started >= 0.25


async def test_request_budget() -> None:
    limiter = ProviderLimiter(requests_per_minute=600, tokens_per_minute=0)  # 10 a second
    for _ in range(600):
        await limiter.acquire()
    started = time.monotonic()
    await limiter.acquire()
    assert time.monotonic() - started >= 0.05


async def test_unreadable_long_audio_is_a_clear_error(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF" + b"\x00" * 4000)
    engine = GroqTranscriber(
        context(groq_base_url=fake_openai.url, transcribe_max_chunk_seconds=5.0)
    )
    with pytest.raises(PermanentEngineError, match="could not be read to split it"):
        _ = [u async for u in engine.transcribe(AudioFile(path, 60.0), TranscribeOptions())]
    await engine.aclose()
    assert fake_openai.requests == []


async def test_a_call_past_its_deadline_is_a_timeout() -> None:
    import asyncio

    policy = RetryPolicy(max_attempts=2, initial_backoff_seconds=0.01, call_deadline_seconds=0.1)
    release = asyncio.Event()
    calls = 0

    async def never() -> None:
        nonlocal calls
        calls += 1
        await release.wait()

    with pytest.raises(RetryableEngineError, match=r"took longer than 0\.1 s"):
        await call_with_retries("Test", policy, never)
    assert calls == 2
