"""Keys from AWS Secrets Manager (aioboto3 against a loopback fake) or the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.domain import Segment
from workers.engines.base import AudioFile, TranscribeOptions
from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.secrets import KeySource
from workers.engines.errors import PermanentEngineError, RetryableEngineError
from workers.engines.transcribers.openai import OpenAITranscriber

from .fakes.aws import FakeSecretsManager
from .fakes.openai_api import FakeOpenAI
from .fakes.server import Hang, Status
from .fakes.tones import Burst, write_tones
from .support import context, fast_settings

pytestmark = pytest.mark.providers

SECRET_KEY = "sk-from-secrets-manager-SHOULD-NOT-LEAK-42"


def secret_context(fake: FakeSecretsManager, **settings: object) -> ProviderContext:
    return context(
        provider_keys_secret_id="consulta/provider-keys",
        secrets_endpoint_url=fake.url,
        **settings,
    )


async def test_openai_key_comes_from_the_secret(
    fake_secrets: FakeSecretsManager,
    fake_openai: FakeOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    fake_secrets.secrets["consulta/provider-keys"] = json.dumps({"OPENAI_API_KEY": SECRET_KEY})
    ctx = secret_context(fake_secrets, openai_base_url=fake_openai.url + "/v1")
    audio = AudioFile(write_tones(tmp_path / "a.wav", [Burst(0.5, 1.0, 440)], 2.0), 2.0)
    for _ in range(2):
        engine = OpenAITranscriber(ctx)
        updates = [u async for u in engine.transcribe(audio, TranscribeOptions())]
        await engine.aclose()
        assert [u.text for u in updates if isinstance(u, Segment)] == ["tone440?"]
    assert [r.headers["Authorization"] for r in fake_openai.requests] == [
        f"Bearer {SECRET_KEY}"
    ] * 2
    assert len(fake_secrets.requests) == 1  # read once per process, kept in memory
    sent = fake_secrets.requests[0]
    assert sent.fields == {
        "target": "secretsmanager.GetSecretValue",
        "SecretId": "consulta/provider-keys",
    }


async def test_a_key_from_the_secret_is_scrubbed_from_errors(
    fake_secrets: FakeSecretsManager, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_secrets.secrets["consulta/provider-keys"] = json.dumps(
        {"OPENAI_API_KEY": "plainkey-without-prefix-123"}
    )
    fake_openai.faults.append(
        Status(401, {"error": {"message": "Bad key plainkey-without-prefix-123"}})
    )
    engine = OpenAITranscriber(
        secret_context(fake_secrets, openai_base_url=fake_openai.url + "/v1")
    )
    audio = AudioFile(write_tones(tmp_path / "a.wav", [Burst(0.5, 1.0, 440)], 2.0), 2.0)
    with pytest.raises(PermanentEngineError) as caught:
        _ = [u async for u in engine.transcribe(audio, TranscribeOptions())]
    await engine.aclose()
    assert "plainkey" not in caught.value.message
    assert "Bad key ***" in caught.value.message


async def test_missing_secret(fake_secrets: FakeSecretsManager) -> None:
    keys = KeySource(
        fast_settings(provider_keys_secret_id="nope", secrets_endpoint_url=fake_secrets.url)
    )
    with pytest.raises(
        PermanentEngineError, match=r"Secrets Manager rejected the request.*can.t find"
    ):
        await keys.get("GROQ_API_KEY")


async def test_secret_that_is_not_a_json_object(fake_secrets: FakeSecretsManager) -> None:
    fake_secrets.secrets["plain"] = "gsk_just_a_string"
    keys = KeySource(
        fast_settings(provider_keys_secret_id="plain", secrets_endpoint_url=fake_secrets.url)
    )
    with pytest.raises(PermanentEngineError, match="not a JSON object of keys") as caught:
        await keys.get("GROQ_API_KEY")
    assert "gsk_just" not in caught.value.message


async def test_field_missing_from_the_secret(fake_secrets: FakeSecretsManager) -> None:
    fake_secrets.secrets["keys"] = json.dumps({"OPENAI_API_KEY": "sk-x"})
    keys = KeySource(
        fast_settings(provider_keys_secret_id="keys", secrets_endpoint_url=fake_secrets.url)
    )
    with pytest.raises(
        PermanentEngineError, match="No GROQ_API_KEY was found in the Secrets Manager secret 'keys'"
    ):
        await keys.get("GROQ_API_KEY")
    assert await keys.get("OPENAI_COMPATIBLE_API_KEY", required=False) == ""


async def test_environment_when_no_secret_is_set(fake_secrets: FakeSecretsManager) -> None:
    keys = KeySource(fast_settings())
    assert (await keys.get("GROQ_API_KEY")).startswith("gsk_test")
    assert fake_secrets.requests == []


async def test_secrets_manager_outage_is_retried_then_reported(
    fake_secrets: FakeSecretsManager,
) -> None:
    fake_secrets.secrets["keys"] = json.dumps({"GROQ_API_KEY": "gsk_from_secret_0000"})
    fake_secrets.faults.append(Status(503))
    keys = KeySource(
        fast_settings(provider_keys_secret_id="keys", secrets_endpoint_url=fake_secrets.url)
    )
    assert await keys.get("GROQ_API_KEY") == "gsk_from_secret_0000"
    assert len(fake_secrets.requests) == 2
    fake_secrets.faults.append(Hang())
    keys = KeySource(
        fast_settings(
            provider_keys_secret_id="keys",
            secrets_endpoint_url=fake_secrets.url,
            provider_max_attempts=1,
        )
    )
    with pytest.raises(RetryableEngineError, match="AWS Secrets Manager did not answer in time"):
        await keys.get("GROQ_API_KEY")
