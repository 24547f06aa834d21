"""Tokens the ``consulta`` command signs with this machine's secret (app/tokens.py), as the
client's token source and for ``consulta token``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from app.tokens import mint_from_secret
from clients.errors import ConfigurationError
from clients.token import MintingTokens, resolve_token
from core.auth import verify_token

SECRET = "a-secret-long-enough-for-hs256-signing"


def resolved(env: dict[str, str], **kwargs: Any) -> str:
    """The token the CLI would call with, minted from ``env``'s secret."""
    minter = functools.partial(mint_from_secret, env=env)
    token = resolve_token(minter=minter, env=env, **kwargs)
    return token() if callable(token) else token


def test_the_secret_variable_mints_a_token_for_the_user_and_tenant() -> None:
    env = {"CONSULTA_JWT_SECRET": SECRET, "CONSULTA_USER": "env-user"}
    principal = verify_token(resolved(env, token=None, user=None, tenant="clinic"), SECRET)
    assert (principal.subject, principal.tenant) == ("env-user", "clinic")

    flagged = resolved(env, token=None, user="flag-user", tenant="clinic")
    assert verify_token(flagged, SECRET).subject == "flag-user"


def test_the_secret_file_under_the_data_dir_mints_a_token(tmp_path: Path) -> None:
    (tmp_path / "jwt.secret").write_text(SECRET + "\n")
    env = {"CONSULTA_DATA_DIR": str(tmp_path), "CONSULTA_USER": "u"}
    assert verify_token(resolved(env, token=None, user=None, tenant="t"), SECRET).subject == "u"


def test_the_issuer_follows_the_deployment_setting() -> None:
    env = {"CONSULTA_JWT_SECRET": SECRET, "CONSULTA_JWT_ISSUER": "clinic-a", "CONSULTA_USER": "u"}
    token = resolved(env, token=None, user=None, tenant="t")
    assert verify_token(token, SECRET, issuer="clinic-a").subject == "u"


def test_roles_and_lifetime_are_signed_as_asked() -> None:
    token = mint_from_secret(
        user="nurse", tenant="t", roles=("auditor",), ttl_seconds=60,
        env={"CONSULTA_JWT_SECRET": SECRET},
    )  # fmt: skip
    principal = verify_token(token, SECRET)
    assert (principal.subject, principal.roles) == ("nurse", frozenset({"auditor"}))


def test_without_token_or_secret_the_error_names_what_to_set(tmp_path: Path) -> None:
    env = {"CONSULTA_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigurationError, match="CONSULTA_TOKEN") as caught:
        resolved(env, token=None, user="u", tenant="t")
    assert str(tmp_path / "jwt.secret") in caught.value.message


def test_minted_tokens_from_the_secret_are_renewed_before_they_expire() -> None:
    now = [1000.0]
    minter = functools.partial(mint_from_secret, env={"CONSULTA_JWT_SECRET": SECRET})
    tokens = MintingTokens(minter, user="u", tenant="t", ttl_seconds=100, clock=lambda: now[0])
    tokens()
    now[0] += 91  # past 90% of the lifetime: a new one is signed
    assert verify_token(tokens(), SECRET).subject == "u"
    assert tokens.minted == 2
