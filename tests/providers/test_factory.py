"""Engines by name from the cloud factory, as the engine registry asks for them."""

from __future__ import annotations

import pytest

from workers.engines.cloud.factory import build_summarizer, build_transcriber
from workers.engines.transcribers.channels import ChannelTranscriber

from .support import context

pytestmark = pytest.mark.providers


@pytest.mark.parametrize(
    ("name", "engine"),
    [
        ("openai", "openai:gpt-4o-mini-transcribe"),
        ("openai-diarize", "openai:gpt-4o-transcribe-diarize"),
        ("groq", "groq:whisper-large-v3"),
    ],
)
async def test_transcribers_by_name(name: str, engine: str) -> None:
    ctx = context(
        openai_transcribe_model="gpt-4o-mini-transcribe", groq_transcribe_model="whisper-large-v3"
    )
    built = build_transcriber(name, ctx)
    assert isinstance(built, ChannelTranscriber) and built.name == engine
    await built.aclose()


@pytest.mark.parametrize(
    ("name", "engine"),
    [
        ("groq", "groq:deepseek-r1-distill-llama-70b"),
        ("bedrock", "bedrock:us.deepseek.r1-v1:0"),
        ("openai_compatible", "openai_compatible:llama3.1:8b"),
    ],
)
async def test_summarizers_by_name(name: str, engine: str) -> None:
    built = build_summarizer(name, context(openai_compatible_model="llama3.1:8b"))
    assert built.name == engine
    await built.aclose()


def test_unknown_names_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown transcriber 'whisperx'"):
        build_transcriber("whisperx", context())
    with pytest.raises(ValueError, match="unknown note engine 'local'"):
        build_summarizer("local", context())


def test_settings_come_from_consulta_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.engines.cloud.settings import ProviderSettings

    monkeypatch.setenv("CONSULTA_GROQ_CHAT_MODEL", "deepseek-r1-distill-qwen-32b")
    monkeypatch.setenv("CONSULTA_CHANNEL_ROLES", '["patient", "clinician"]')
    monkeypatch.setenv(
        "CONSULTA_CUSTOM_TEMPLATES", '{"soap": [{"key": "summary", "title": "Summary"}]}'
    )
    settings = ProviderSettings()
    assert settings.groq_chat_model == "deepseek-r1-distill-qwen-32b"
    assert settings.channel_roles == ("patient", "clinician")
    assert settings.custom_templates["soap"][0].key == "summary"
