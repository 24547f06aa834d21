"""Fixtures of the provider tests: fake provider servers on 127.0.0.1, keys, settings.

Servers live for the session (one port each) and are reset before every test, so faults or
requests of one test never leak into the next. Keys are fake but shaped like real ones, so
tests can prove they never reach an error message or a log line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from .fakes.aws import FakeBedrock, FakeSecretsManager
from .fakes.openai_api import FakeOpenAI
from .fakes.openai_realtime import FakeRealtime
from .support import GROQ_KEY, OPENAI_KEY


@pytest.fixture(scope="session")
async def openai_server() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def fake_openai(openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    openai_server.reset()
    yield openai_server
    openai_server.reset()


@pytest.fixture(scope="session")
async def realtime_server() -> AsyncIterator[FakeRealtime]:
    server = FakeRealtime()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def fake_realtime(realtime_server: FakeRealtime) -> Iterator[FakeRealtime]:
    realtime_server.reset()
    yield realtime_server
    realtime_server.reset()


@pytest.fixture(scope="session")
async def bedrock_server() -> AsyncIterator[FakeBedrock]:
    server = FakeBedrock()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def fake_bedrock(bedrock_server: FakeBedrock) -> Iterator[FakeBedrock]:
    bedrock_server.reset()
    yield bedrock_server
    bedrock_server.reset()


@pytest.fixture(scope="session")
async def secrets_server() -> AsyncIterator[FakeSecretsManager]:
    server = FakeSecretsManager()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def fake_secrets(secrets_server: FakeSecretsManager) -> Iterator[FakeSecretsManager]:
    secrets_server.reset()
    yield secrets_server
    secrets_server.reset()


@pytest.fixture(autouse=True)
def provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake keys in the environment, and nothing that could reach a real provider."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("GROQ_API_KEY", GROQ_KEY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTDONOTLEAK000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-access-key")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    # No shared config and no instance metadata: nothing may leave loopback.
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("OPENAI_BASE_URL", "GROQ_BASE_URL", "CONSULTA_PROVIDER_KEYS_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
