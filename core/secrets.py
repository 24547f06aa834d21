"""Deployment secrets from AWS Secrets Manager, read once when a process starts.

Settings name secrets by id (``*_secret_id``); :func:`resolve_secrets` returns settings
whose database URL, broker URLs and JWT key hold the secret values. Nothing is written to
disk or logs. With no secret id set it changes nothing and makes no call.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy.engine import make_url

from core.errors import Unavailable
from core.settings import Settings

if TYPE_CHECKING:
    from botocore.config import Config


async def fetch_secret_string(
    secret_id: str, *, region: str, endpoint_url: str, config: Config
) -> str | None:
    """The text (``SecretString``) of one Secrets Manager secret; None when it has none.

    Shared by every reader of secrets (deployment secrets here, provider keys in the
    workers). The SDK's errors propagate: each caller maps them to its own layer's error.
    """
    import aioboto3  # about 150 ms of imports, paid only by a process that reads a secret

    kwargs: dict[str, Any] = {"region_name": region, "config": config}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    async with aioboto3.Session().client("secretsmanager", **kwargs) as client:
        answer = await client.get_secret_value(SecretId=secret_id)
    value = answer.get("SecretString")
    return value if isinstance(value, str) else None


async def _fetch(settings: Settings, secret_id: str) -> str:
    from botocore.config import Config

    try:
        value = await fetch_secret_string(
            secret_id,
            region=settings.secrets_region,
            endpoint_url=settings.secrets_endpoint_url,
            config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3}),
        )
    except Exception as exc:
        # The message names the secret, never its value.
        raise Unavailable(
            f"Could not read the secret {secret_id!r} from AWS Secrets Manager "
            f"({type(exc).__name__})."
        ) from exc
    if not value:
        raise Unavailable(f"The secret {secret_id!r} holds no text.")
    return value


def _credentials(raw: str, secret_id: str) -> tuple[str, str]:
    try:
        parsed = json.loads(raw)
        return str(parsed["username"]), str(parsed["password"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise Unavailable(
            f"The secret {secret_id!r} is not JSON with 'username' and 'password'."
        ) from exc


def _with_credentials(url: str, username: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def resolve_secrets(settings: Settings) -> Settings:
    """Settings with every configured secret filled in."""
    if not (settings.jwt_secret_id or settings.database_secret_id or settings.broker_secret_id):
        return settings
    update: dict[str, str] = {}
    if settings.jwt_secret_id:
        raw = await _fetch(settings, settings.jwt_secret_id)
        try:
            parsed = json.loads(raw)
            update["jwt_secret"] = str(parsed["secret"]) if isinstance(parsed, dict) else raw
        except (json.JSONDecodeError, KeyError):
            update["jwt_secret"] = raw
    if settings.database_secret_id:
        user, password = _credentials(
            await _fetch(settings, settings.database_secret_id), settings.database_secret_id
        )
        url = make_url(settings.resolved_database_url).set(username=user, password=password)
        update["database_url"] = url.render_as_string(hide_password=False)
    if settings.broker_secret_id:
        user, password = _credentials(
            await _fetch(settings, settings.broker_secret_id), settings.broker_secret_id
        )
        update["queue_url"] = _with_credentials(settings.queue_url, user, password)
        update["events_url"] = _with_credentials(settings.resolved_events_url, user, password)
    return settings.model_copy(update=update)
