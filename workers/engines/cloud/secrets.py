"""Provider API keys: from AWS Secrets Manager when a secret id is set, else the environment.

The secret is a JSON object whose fields are named like the environment variables
(``{"OPENAI_API_KEY": "...", "GROQ_API_KEY": "..."}``). It is read once per process, on the
first call that needs a key, and kept in memory only. Keys never reach logs or error
messages; :meth:`KeySource.known` lists them so error text can be scrubbed of them.
"""

from __future__ import annotations

import asyncio
import json
import os

from botocore.config import Config

from core.secrets import fetch_secret_string
from workers.engines.cloud.errors import translate
from workers.engines.cloud.settings import ProviderSettings
from workers.engines.errors import PermanentEngineError


class KeySource:
    """Looks up keys by name (``OPENAI_API_KEY``) in Secrets Manager or the environment."""

    def __init__(self, settings: ProviderSettings) -> None:
        self._settings = settings
        self._secret: dict[str, str] | None = None
        self._lock = asyncio.Lock()
        self._asked = {"OPENAI_API_KEY", "GROQ_API_KEY"}

    async def get(self, name: str, *, required: bool = True) -> str:
        """The key called ``name``; PermanentEngineError when required and missing."""
        self._asked.add(name)
        if self._settings.provider_keys_secret_id:
            value = (await self._load_secret()).get(name, "")
            where = f"the Secrets Manager secret {self._settings.provider_keys_secret_id!r}"
        else:
            value = os.environ.get(name, "")
            where = "the environment"
        if not value and required:
            raise PermanentEngineError(f"No {name} was found in {where}.")
        return value

    def known(self) -> tuple[str, ...]:
        """Every key loaded so far, for scrubbing error text."""
        env = [os.environ.get(n, "") for n in sorted(self._asked)]
        return tuple(v for v in [*env, *(self._secret or {}).values()] if v)

    async def _load_secret(self) -> dict[str, str]:
        async with self._lock:
            if self._secret is None:
                self._secret = await self._fetch()
            return self._secret

    async def _fetch(self) -> dict[str, str]:
        settings = self._settings
        secret_id = settings.provider_keys_secret_id
        config = Config(
            connect_timeout=settings.provider_connect_timeout_seconds,
            read_timeout=settings.provider_timeout_seconds,
            retries={"total_max_attempts": settings.provider_max_attempts, "mode": "standard"},
        )
        try:
            raw = await fetch_secret_string(
                secret_id,
                region=settings.secrets_region,
                endpoint_url=settings.secrets_endpoint_url,
                config=config,
            )
        except Exception as exc:
            raise translate("AWS Secrets Manager", exc) from exc
        try:
            parsed = json.loads(raw) if isinstance(raw, str) else None
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise PermanentEngineError(
                f"The secret {secret_id!r} is not a JSON object of keys "
                '({"OPENAI_API_KEY": ..., "GROQ_API_KEY": ...}).'
            )
        return {str(k): str(v) for k, v in parsed.items()}
