"""How the OpenAI transcriber behaves when the provider fails: retried, or a clear error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.domain import Segment
from workers.engines.base import AudioFile, TranscribeOptions
from workers.engines.errors import PermanentEngineError, RetryableEngineError
from workers.engines.transcribers.openai import OpenAITranscriber

from .fakes.openai_api import FakeOpenAI
from .fakes.server import BreakStream, Hang, Malformed, Status
from .fakes.tones import Burst, write_tones
from .support import OPENAI_KEY, context

pytestmark = pytest.mark.providers


@pytest.fixture
def audio(tmp_path: Path) -> AudioFile:
    return AudioFile(write_tones(tmp_path / "a.wav", [Burst(0.5, 1.0, 440)], 2.0), 2.0)


async def run(fake: FakeOpenAI, audio: AudioFile, **settings: object) -> list[Segment]:
    engine = OpenAITranscriber(context(openai_base_url=fake.url + "/v1", **settings))
    try:
        return [
            u async for u in engine.transcribe(audio, TranscribeOptions()) if isinstance(u, Segment)
        ]
    finally:
        await engine.aclose()


async def test_429_waits_as_long_as_retry_after_says(
    fake_openai: FakeOpenAI, audio: AudioFile
) -> None:
    fake_openai.faults.append(
        Status(429, {"error": {"message": "Slow down"}}, {"retry-after": "0.3"})
    )
    segments = await run(fake_openai, audio)
    assert [s.text for s in segments] == ["tone440?"]
    first, second = fake_openai.requests
    assert second.at - first.at >= 0.3


async def test_500_is_retried(fake_openai: FakeOpenAI, audio: AudioFile) -> None:
    fake_openai.faults.extend([Status(500), Status(503)])
    assert [s.text for s in await run(fake_openai, audio)] == ["tone440?"]
    assert len(fake_openai.requests) == 3


async def test_5xx_past_the_budget_asks_the_worker_to_retry(
    fake_openai: FakeOpenAI, audio: AudioFile
) -> None:
    fake_openai.faults.extend([Status(502)] * 3)
    with pytest.raises(RetryableEngineError, match=r"OpenAI had a temporary failure \(HTTP 502\)"):
        await run(fake_openai, audio)
    assert len(fake_openai.requests) == 3


async def test_retry_after_longer_than_the_budget_is_handed_to_the_worker(
    fake_openai: FakeOpenAI, audio: AudioFile
) -> None:
    fake_openai.faults.append(Status(429, {}, {"retry-after": "120"}))
    with pytest.raises(RetryableEngineError, match="rate limiting") as caught:
        await run(fake_openai, audio)
    assert caught.value.retry_after == 120
    assert len(fake_openai.requests) == 1


async def test_timeout_is_retried_then_reported(fake_openai: FakeOpenAI, audio: AudioFile) -> None:
    fake_openai.faults.append(Hang())
    assert [s.text for s in await run(fake_openai, audio)] == ["tone440?"]
    fake_openai.faults.extend([Hang(), Hang()])
    with pytest.raises(RetryableEngineError, match="did not answer in time"):
        await run(fake_openai, audio, provider_max_attempts=2)


async def test_malformed_answer_is_permanent(fake_openai: FakeOpenAI, audio: AudioFile) -> None:
    fake_openai.faults.append(Malformed(b"data: {not json\n\n", "text/event-stream"))
    with pytest.raises(PermanentEngineError, match="could not read"):
        await run(fake_openai, audio)
    assert len(fake_openai.requests) == 1


async def test_stream_without_final_text_is_permanent(
    fake_openai: FakeOpenAI, audio: AudioFile
) -> None:
    fake_openai.faults.append(Malformed(b"", "text/event-stream"))
    with pytest.raises(PermanentEngineError, match="without its text"):
        await run(fake_openai, audio)


async def test_error_mid_stream_is_not_replayed(fake_openai: FakeOpenAI, audio: AudioFile) -> None:
    fake_openai.faults.append(BreakStream(after=1))
    with pytest.raises(RetryableEngineError, match="overloaded"):
        await run(fake_openai, audio)
    assert len(fake_openai.requests) == 1


async def test_bad_key_never_shows_in_errors_or_logs(
    fake_openai: FakeOpenAI, audio: AudioFile, caplog: pytest.LogCaptureFixture
) -> None:
    echo = {"error": {"message": f"Incorrect API key provided: {OPENAI_KEY}."}}
    fake_openai.faults.extend([Status(500, echo), Status(401, echo)])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermanentEngineError) as caught:
        await run(fake_openai, audio)
    assert "refused our credentials" in caught.value.message
    assert "Incorrect API key provided" in caught.value.message
    assert OPENAI_KEY not in str(caught.value)
    assert OPENAI_KEY[:12] not in caplog.text
    assert "retrying" in caplog.text


async def test_missing_key_is_a_clear_permanent_error(
    fake_openai: FakeOpenAI, audio: AudioFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(
        PermanentEngineError, match="No OPENAI_API_KEY was found in the environment"
    ):
        await run(fake_openai, audio)
    assert fake_openai.requests == []
