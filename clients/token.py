"""Where the CLI gets its bearer token.

In order: an explicit token (``--token`` / ``CONSULTA_TOKEN``); else one minted for the
caller from the deployment's signing secret, when this machine has it (``CONSULTA_JWT_SECRET``
or ``<CONSULTA_DATA_DIR or ./var>/jwt.secret``, which the embedded server creates); else a
ConfigurationError that says what to set.
"""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from clients.errors import ConfigurationError
from core.auth import mint_token

SECRET_FILE_NAME = "jwt.secret"


def default_user(env: Mapping[str, str] | None = None) -> str:
    """``CONSULTA_USER``, else the OS user name, else "local"."""
    env = os.environ if env is None else env
    if user := env.get("CONSULTA_USER"):
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        return "local"


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The embedded deployment's data folder: ``CONSULTA_DATA_DIR`` or ./var."""
    env = os.environ if env is None else env
    return Path(env.get("CONSULTA_DATA_DIR") or "var")


def find_secret(env: Mapping[str, str] | None = None) -> str | None:
    """The signing secret this machine holds, or None."""
    env = os.environ if env is None else env
    if secret := env.get("CONSULTA_JWT_SECRET"):
        return secret
    path = data_dir(env) / SECRET_FILE_NAME
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the signing secret {path}: {exc}") from exc
    return value or None


def mint_from_secret(
    *,
    user: str,
    tenant: str,
    roles: tuple[str, ...] = (),
    ttl_seconds: int = 3600,
    env: Mapping[str, str] | None = None,
) -> str:
    """A token for ``user`` signed with this machine's secret; ConfigurationError without one."""
    env = os.environ if env is None else env
    secret = find_secret(env)
    if secret is None:
        raise ConfigurationError(
            "No token: set CONSULTA_TOKEN (or --token), or run on the server's machine where "
            f"CONSULTA_JWT_SECRET or {data_dir(env) / SECRET_FILE_NAME} exists."
        )
    issuer = env.get("CONSULTA_JWT_ISSUER") or "consulta"
    audience = env.get("CONSULTA_JWT_AUDIENCE") or "consulta"
    return mint_token(
        secret,
        user,
        tenant=tenant,
        roles=roles,
        ttl_seconds=ttl_seconds,
        issuer=issuer,
        audience=audience,
    )


class MintingTokens:
    """Tokens for one caller minted from the local secret, each reused until shortly before
    it expires, so that a client running for hours never calls with an expired one."""

    def __init__(
        self,
        *,
        user: str,
        tenant: str,
        ttl_seconds: int = 3600,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._env = os.environ if env is None else env
        self._user = user
        self._tenant = tenant
        self._ttl = ttl_seconds
        self._clock = clock
        self._token = ""
        self._renew_at = 0.0
        self.minted = 0  # how many tokens were signed, for whoever wants to know
        self()  # fail now, not on the first call, when there is no secret

    def __call__(self) -> str:
        now = self._clock()
        if not self._token or now >= self._renew_at:
            self._token = mint_from_secret(
                user=self._user, tenant=self._tenant, ttl_seconds=self._ttl, env=self._env
            )
            self._renew_at = now + self._ttl * 0.9
            self.minted += 1
        return self._token


def resolve_token(
    *,
    token: str | None,
    user: str | None,
    tenant: str,
    env: Mapping[str, str] | None = None,
) -> str | Callable[[], str]:
    """The token to call with: ``token`` when given, else tokens minted from the local
    secret for ``user`` (CONSULTA_USER, the OS user) and ``tenant``."""
    if token:
        return token
    env = os.environ if env is None else env
    return MintingTokens(user=user or default_user(env), tenant=tenant, env=env)
