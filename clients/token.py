"""Where the CLI gets its bearer token.

In order: an explicit token (``--token`` / ``CONSULTA_TOKEN``); else one minted by the program
that runs the client CLI with a minter (the ``consulta`` command does: app/tokens.py signs
with the deployment's secret when this machine holds it); else a ConfigurationError that says
what to set. The client library itself holds no signing key: it only sends tokens.
"""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from clients.errors import ConfigurationError

NO_TOKEN = "No token: set CONSULTA_TOKEN (or --token)."


class TokenMinter(Protocol):
    """Signs a token for a caller; raises ConfigurationError when it cannot."""

    def __call__(
        self, *, user: str, tenant: str, roles: tuple[str, ...] = (), ttl_seconds: int = 3600
    ) -> str: ...


def default_user(env: Mapping[str, str] | None = None) -> str:
    """``CONSULTA_USER``, else the OS user name, else "local"."""
    env = os.environ if env is None else env
    if user := env.get("CONSULTA_USER"):
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        return "local"


class MintingTokens:
    """Tokens for one caller from a minter, each reused until shortly before it expires, so
    that a client running for hours never calls with an expired one."""

    def __init__(
        self,
        minter: TokenMinter,
        *,
        user: str,
        tenant: str,
        ttl_seconds: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._minter = minter
        self._user = user
        self._tenant = tenant
        self._ttl = ttl_seconds
        self._clock = clock
        self._token = ""
        self._renew_at = 0.0
        self.minted = 0  # how many tokens were signed, for whoever wants to know
        self()  # fail now, not on the first call, when the minter cannot sign

    def __call__(self) -> str:
        now = self._clock()
        if not self._token or now >= self._renew_at:
            self._token = self._minter(user=self._user, tenant=self._tenant, ttl_seconds=self._ttl)
            self._renew_at = now + self._ttl * 0.9
            self.minted += 1
        return self._token


def resolve_token(
    *,
    token: str | None,
    user: str | None,
    tenant: str,
    minter: TokenMinter | None = None,
    env: Mapping[str, str] | None = None,
) -> str | Callable[[], str]:
    """The token to call with: ``token`` when given, else tokens from ``minter`` for
    ``user`` (CONSULTA_USER, the OS user) and ``tenant``; ConfigurationError with neither."""
    if token:
        return token
    if minter is None:
        raise ConfigurationError(NO_TOKEN)
    return MintingTokens(minter, user=user or default_user(env), tenant=tenant)
