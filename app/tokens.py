"""Tokens signed with this machine's copy of the deployment's secret, for the ``consulta``
CLI run beside a server: ``consulta token``, ``consulta audit``'s auditor token, and every
client command's token when no ``--token`` is given.

The secret is ``CONSULTA_JWT_SECRET``, else ``<CONSULTA_DATA_DIR or ./var>/jwt.secret`` (the
file the embedded server creates). The client library never sees it: it gets a minter
(clients/token.py ``TokenMinter``) from app/cli.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from clients.errors import ConfigurationError
from core.auth import mint_token

SECRET_FILE_NAME = "jwt.secret"


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
