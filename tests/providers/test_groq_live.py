"""Groq live: each finished utterance is one request through the real groq SDK, against the
loopback fake, with the batch adapter's retry rules (429 with retry-after, 500)."""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt
import pytest

from core.audio import decode_pcm
from tests.e2e.audio import SAMPLE
from workers.engines.base import TranscribeOptions
from workers.engines.errors import RetryableEngineError
from workers.engines.live import LiveResult
from workers.engines.transcribers.groq import GroqTranscriber
from workers.engines.transcribers.live_groq import GroqLiveTranscriber
from workers.engines.transcribers.utterances import SAMPLE_RATE

from .fakes.openai_api import FakeOpenAI
from .fakes.server import Status
from .support import context

pytestmark = pytest.mark.providers

SECONDS = 20.0


@pytest.fixture(scope="module")
def speech() -> npt.NDArray[np.float32]:
    return decode_pcm(SAMPLE)[: int(SECONDS * SAMPLE_RATE)]


async def run(
    fake: FakeOpenAI, pcm: npt.NDArray[np.float32], **settings: object
) -> list[LiveResult]:
    engine = GroqLiveTranscriber(GroqTranscriber(context(groq_base_url=fake.url, **settings)))
    session = engine.open_session(TranscribeOptions(language="en"))
    try:
        for i in range(0, len(pcm), SAMPLE_RATE):
            await session.push(pcm[i : i + SAMPLE_RATE])
            await asyncio.sleep(0)
        await session.finish()
        return [r async for r in session.results()]
    finally:
        await session.aclose()
        await engine.aclose()


async def test_each_utterance_is_one_request_and_settles_at_once(
    fake_openai: FakeOpenAI, speech: npt.NDArray[np.float32]
) -> None:
    results = await run(fake_openai, speech)
    assert results and all(r.final for r in results)  # Groq gives no interim guesses
    sent = fake_openai.requests
    assert len(sent) >= 2
    assert all(r.fields["model"] == "whisper-large-v3-turbo" for r in sent)
    assert all(r.fields["language"] == "en" for r in sent)
    assert [r.fields["filename"] for r in sent] == [f"utterance-{i}.flac" for i in range(len(sent))]
    # Utterances, not the whole recording: together no more than 16-bit samples of it.
    assert sum(r.fields["file_bytes"] for r in sent) < SECONDS * SAMPLE_RATE * 2
    end = 0.0
    for r in results:
        assert r.text.startswith("tone") and r.start >= end - 1e-6 and r.end <= SECONDS
        end = r.end


async def test_429_and_500_are_retried_and_nothing_is_lost(
    fake_openai: FakeOpenAI, speech: npt.NDArray[np.float32]
) -> None:
    clean = await run(fake_openai, speech)
    calls = len(fake_openai.requests)
    fake_openai.reset()
    fake_openai.faults.extend([Status(429, {}, {"retry-after": "0.2"}), Status(500)])
    retried = await run(fake_openai, speech)
    assert [(r.text, r.start, r.end) for r in retried] == [(r.text, r.start, r.end) for r in clean]
    assert len(fake_openai.requests) == calls + 2
    first, second = fake_openai.requests[:2]
    assert second.at - first.at >= 0.2


async def test_an_outage_past_the_budget_ends_the_session_retryable(
    fake_openai: FakeOpenAI, speech: npt.NDArray[np.float32]
) -> None:
    fake_openai.faults.extend([Status(503)] * 3)
    with pytest.raises(RetryableEngineError):
        await run(fake_openai, speech, provider_max_attempts=3)
