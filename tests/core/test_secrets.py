"""Deployment secrets come from Secrets Manager (a loopback fake speaking its JSON protocol)
into the settings a process runs with; a missing secret stops the start with its id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from core.errors import Unavailable
from core.secrets import resolve_secrets
from core.settings import Settings
from tests.providers.fakes.aws import FakeSecretsManager


@pytest.fixture
async def secrets(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSecretsManager]:
    # Credentials for SigV4 signing; nothing may fall back to a real AWS configuration.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTDONOTLEAK000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-access-key")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    server = FakeSecretsManager()
    await server.start()
    yield server
    await server.stop()


async def test_secrets_fill_database_broker_and_jwt(secrets: FakeSecretsManager) -> None:
    secrets.secrets = {
        "db": json.dumps({"username": "consulta", "password": "p@ss/word:1", "port": 5432}),
        "mq": json.dumps({"username": "mq", "password": "s3cr#t"}),
        "jwt": json.dumps({"secret": "signing-key-" + "k" * 40}),
    }
    settings = Settings(
        database_url="postgresql+asyncpg://db.internal:5432/consulta",
        queue_url="amqps://b-1.mq.internal:5671/",
        database_secret_id="db",
        broker_secret_id="mq",
        jwt_secret_id="jwt",
        secrets_endpoint_url=secrets.url,
    )
    resolved = await resolve_secrets(settings)
    assert resolved.database_url == (
        "postgresql+asyncpg://consulta:p%40ss%2Fword%3A1@db.internal:5432/consulta"
    )
    assert resolved.queue_url == "amqps://mq:s3cr%23t@b-1.mq.internal:5671/"
    assert resolved.resolved_events_url == resolved.queue_url
    assert resolved.jwt_secret == "signing-key-" + "k" * 40
    assert {r.fields["SecretId"] for r in secrets.requests} == {"db", "mq", "jwt"}


async def test_plain_text_jwt_secret_and_no_calls_without_ids(
    secrets: FakeSecretsManager,
) -> None:
    secrets.secrets = {"jwt": "plain-signing-key"}
    untouched = Settings(secrets_endpoint_url=secrets.url)
    assert await resolve_secrets(untouched) is untouched
    assert secrets.requests == []
    resolved = await resolve_secrets(
        Settings(jwt_secret_id="jwt", secrets_endpoint_url=secrets.url)
    )
    assert resolved.jwt_secret == "plain-signing-key"


async def test_a_missing_secret_names_its_id_and_no_value(secrets: FakeSecretsManager) -> None:
    secrets.secrets = {"mq": "not json at all"}
    with pytest.raises(Unavailable) as caught:
        await resolve_secrets(Settings(database_secret_id="gone", secrets_endpoint_url=secrets.url))
    assert "'gone'" in caught.value.message
    with pytest.raises(Unavailable) as caught:
        await resolve_secrets(
            Settings(
                queue_url="amqps://h:5671/",
                broker_secret_id="mq",
                secrets_endpoint_url=secrets.url,
            )
        )
    assert "not json" not in caught.value.message
