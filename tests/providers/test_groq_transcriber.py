"""The Groq Whisper transcriber through the real groq SDK against a loopback fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.domain import Segment
from workers.engines.base import (
    AudioFile,
    DetectedLanguage,
    Progress,
    TranscribeOptions,
    TranscriptionUpdate,
)
from workers.engines.errors import PermanentEngineError, RetryableEngineError
from workers.engines.transcribers.groq import GroqTranscriber

from .fakes.openai_api import FakeOpenAI
from .fakes.server import Hang, Malformed, Status
from .fakes.tones import Burst, write_tones
from .support import GROQ_KEY, context

pytestmark = pytest.mark.providers


@pytest.fixture
def audio(tmp_path: Path) -> AudioFile:
    bursts = [Burst(0.5, 1.0, 440), Burst(2.5, 0.5, 880)]
    return AudioFile(write_tones(tmp_path / "a.wav", bursts, 4.0), 4.0)


async def run(
    fake: FakeOpenAI,
    audio: AudioFile,
    options: TranscribeOptions | None = None,
    **settings: object,
) -> list[TranscriptionUpdate]:
    engine = GroqTranscriber(context(groq_base_url=fake.url, **settings))
    try:
        return [u async for u in engine.transcribe(audio, options or TranscribeOptions())]
    finally:
        await engine.aclose()


async def test_segments_with_times_language_and_prompt(
    fake_openai: FakeOpenAI, audio: AudioFile
) -> None:
    updates = await run(fake_openai, audio, TranscribeOptions(vocabulary=("enalapril",)))
    segments = [u for u in updates if isinstance(u, Segment)]
    assert [(s.id, s.text) for s in segments] == [(0, "tone440."), (1, "tone880.")]
    assert segments[0].start == pytest.approx(0.5, abs=0.05)
    assert segments[1].end == pytest.approx(3.0, abs=0.05)
    assert DetectedLanguage("en") in updates
    assert isinstance(updates[-1], Progress) and updates[-1].processed_seconds == 4.0
    sent = fake_openai.requests[0]
    assert sent.path == "/openai/v1/audio/transcriptions"
    assert sent.fields["model"] == "whisper-large-v3-turbo"
    assert sent.fields["response_format"] == "verbose_json"
    assert "enalapril" in sent.fields["prompt"]
    assert sent.headers["Authorization"] == f"Bearer {GROQ_KEY}"


async def test_model_and_language_from_settings_and_options(
    fake_openai: FakeOpenAI, audio: AudioFile
) -> None:
    updates = await run(
        fake_openai,
        audio,
        TranscribeOptions(language="es-ES"),
        groq_transcribe_model="whisper-large-v3",
    )
    assert DetectedLanguage("es") in updates
    assert fake_openai.requests[0].fields["model"] == "whisper-large-v3"
    assert fake_openai.requests[0].fields["language"] == "es"


async def test_429_retry_after_and_500_then_success(
    fake_openai: FakeOpenAI, audio: AudioFile
) -> None:
    fake_openai.faults.extend([Status(429, {}, {"retry-after": "0.2"}), Status(500)])
    updates = await run(fake_openai, audio)
    assert len([u for u in updates if isinstance(u, Segment)]) == 2
    first, second, _ = fake_openai.requests
    assert second.at - first.at >= 0.2


async def test_timeouts_past_the_budget(fake_openai: FakeOpenAI, audio: AudioFile) -> None:
    fake_openai.faults.extend([Hang(), Hang()])
    with pytest.raises(RetryableEngineError, match="Groq did not answer in time"):
        await run(fake_openai, audio, provider_max_attempts=2)


async def test_malformed_answers(fake_openai: FakeOpenAI, audio: AudioFile) -> None:
    fake_openai.faults.append(Malformed())
    with pytest.raises(PermanentEngineError, match="Groq sent an answer we could not read"):
        await run(fake_openai, audio)
    fake_openai.faults.append(Malformed(b'{"text": "no segments"}'))
    with pytest.raises(PermanentEngineError, match="without segments"):
        await run(fake_openai, audio)


async def test_rejected_request_is_permanent(fake_openai: FakeOpenAI, audio: AudioFile) -> None:
    fake_openai.faults.append(Status(400, {"error": {"message": "file must be one of flac, mp3"}}))
    with pytest.raises(PermanentEngineError, match=r"rejected the request \(HTTP 400\).*flac, mp3"):
        await run(fake_openai, audio)
    assert len(fake_openai.requests) == 1
