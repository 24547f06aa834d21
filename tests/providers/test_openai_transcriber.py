"""The OpenAI transcriber through the real openai SDK against a loopback fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.domain import Segment
from workers.engines.base import AudioFile, Progress, TranscribeOptions, TranscriptionUpdate
from workers.engines.errors import PermanentEngineError
from workers.engines.transcribers.openai import OpenAITranscriber

from .fakes.openai_api import FakeOpenAI
from .fakes.server import Malformed
from .fakes.tones import Burst, write_tones
from .support import context

pytestmark = pytest.mark.providers


async def collect(
    engine: OpenAITranscriber, audio: AudioFile, options: TranscribeOptions
) -> list[TranscriptionUpdate]:
    try:
        return [u async for u in engine.transcribe(audio, options)]
    finally:
        await engine.aclose()


async def test_streams_deltas_and_returns_sentence_segments(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    path = write_tones(tmp_path / "a.wav", [Burst(0.5, 1.0, 440), Burst(2.5, 1.0, 880)], 4.0)
    engine = OpenAITranscriber(context(openai_base_url=fake_openai.url + "/v1"))
    updates = await collect(
        engine, AudioFile(path, 4.0), TranscribeOptions(vocabulary=("metformin", "Dr. Ruiz"))
    )
    deltas = [u.text_delta for u in updates if isinstance(u, Progress) and u.text_delta]
    assert "".join(deltas).split() == ["tone440?", "tone880."]
    segments = [u for u in updates if isinstance(u, Segment)]
    assert [s.text for s in segments] == ["tone440?", "tone880."]
    assert [s.id for s in segments] == [0, 1]
    assert segments[0].start == 0.0 and segments[-1].end == pytest.approx(4.0, abs=0.01)
    sent = fake_openai.requests[0]
    assert sent.fields["model"] == "gpt-4o-transcribe"
    assert sent.fields["stream"] == "true"
    assert "metformin" in sent.fields["prompt"] and "Dr. Ruiz" in sent.fields["prompt"]
    assert sent.headers["Authorization"].startswith("Bearer sk-test")


async def test_diarized_segments_get_roles_and_times(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    bursts = [Burst(0.5, 1.0, 440), Burst(2.0, 1.0, 660), Burst(3.5, 1.0, 330)]
    path = write_tones(tmp_path / "a.wav", bursts, 5.0)
    engine = OpenAITranscriber(context(openai_base_url=fake_openai.url + "/v1"), diarize=True)
    updates = await collect(
        engine, AudioFile(path, 5.0), TranscribeOptions(language="en-US", vocabulary=("x",))
    )
    segments = [u for u in updates if isinstance(u, Segment)]
    # The fake's speaker A asks questions: the clinician. B answers: the patient.
    assert [(s.text, s.speaker.value) for s in segments] == [
        ("tone440?", "clinician"),
        ("tone660.", "patient"),
        ("tone330?", "clinician"),
    ]
    for segment, burst in zip(segments, bursts, strict=True):
        assert segment.start == pytest.approx(burst.start, abs=0.05)
        assert segment.end == pytest.approx(burst.start + burst.seconds, abs=0.05)
    sent = fake_openai.requests[0].fields
    assert sent["model"] == "gpt-4o-transcribe-diarize"
    assert sent["response_format"] == "diarized_json"
    assert sent["chunking_strategy"] == "auto"
    assert sent["language"] == "en"
    assert "prompt" not in sent  # the diarizing model takes none
    assert engine.name == "openai:gpt-4o-transcribe-diarize"


async def test_mini_model_comes_from_settings(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    path = write_tones(tmp_path / "a.wav", [Burst(0.5, 1.0, 440)], 2.0)
    ctx = context(
        openai_base_url=fake_openai.url + "/v1", openai_transcribe_model="gpt-4o-mini-transcribe"
    )
    updates = await collect(OpenAITranscriber(ctx), AudioFile(path, 2.0), TranscribeOptions())
    assert [u.text for u in updates if isinstance(u, Segment)] == ["tone440?"]
    assert fake_openai.requests[0].fields["model"] == "gpt-4o-mini-transcribe"


async def test_unknown_events_are_ignored_and_diarize_without_segments_keeps_the_text(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    events = [
        {"type": "transcript.text.delta", "delta": "Hola. "},
        {"type": "transcript.text.usage", "tokens": 3},
        {"type": "transcript.text.done", "text": "Hola. ¿Qué tal?"},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode()
    fake_openai.faults.append(Malformed(body, "text/event-stream"))
    path = write_tones(tmp_path / "a.wav", [Burst(0.5, 1.0, 440)], 2.0)
    engine = OpenAITranscriber(context(openai_base_url=fake_openai.url + "/v1"), diarize=True)
    updates = await collect(engine, AudioFile(path, 2.0), TranscribeOptions(language="es"))
    segments = [u for u in updates if isinstance(u, Segment)]
    assert [(s.text, s.start, s.end) for s in segments] == [
        ("Hola.", 0.0, 0.714),
        ("¿Qué tal?", 0.714, 2.0),
    ]


async def test_a_segment_without_times_is_a_readable_error(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    events = [
        {"type": "transcript.text.segment", "id": "s0", "speaker": "A", "text": "Hola."},
        {"type": "transcript.text.done", "text": "Hola."},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode()
    fake_openai.faults.append(Malformed(body, "text/event-stream"))
    path = write_tones(tmp_path / "a.wav", [Burst(0.5, 1.0, 440)], 2.0)
    engine = OpenAITranscriber(context(openai_base_url=fake_openai.url + "/v1"), diarize=True)
    with pytest.raises(PermanentEngineError, match="OpenAI sent a segment we could not read"):
        await collect(engine, AudioFile(path, 2.0), TranscribeOptions())
