"""Where the CLI's token comes from, and where it connects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clients.cli_common import local_address
from clients.errors import ConfigurationError
from clients.token import MintingTokens, resolve_token
from core.auth import verify_token

SECRET = "a-secret-long-enough-for-hs256-signing"


def resolved(**kwargs: Any) -> str:
    """The token resolve_token gives now, whether a string or a minting callable."""
    token = resolve_token(**kwargs)
    return token() if callable(token) else token


def test_an_explicit_token_is_used_as_given(tmp_path: Path) -> None:
    env = {"CONSULTA_DATA_DIR": str(tmp_path)}
    assert resolve_token(token="abc", user=None, tenant="t", env=env) == "abc"


def test_the_secret_variable_mints_a_token_for_the_user_and_tenant() -> None:
    env = {"CONSULTA_JWT_SECRET": SECRET, "CONSULTA_USER": "env-user"}
    principal = verify_token(resolved(token=None, user=None, tenant="clinic", env=env), SECRET)
    assert (principal.subject, principal.tenant) == ("env-user", "clinic")

    flagged = resolved(token=None, user="flag-user", tenant="clinic", env=env)
    assert verify_token(flagged, SECRET).subject == "flag-user"


def test_the_secret_file_under_the_data_dir_mints_a_token(tmp_path: Path) -> None:
    (tmp_path / "jwt.secret").write_text(SECRET + "\n")
    env = {"CONSULTA_DATA_DIR": str(tmp_path), "CONSULTA_USER": "u"}
    assert verify_token(resolved(token=None, user=None, tenant="t", env=env), SECRET)


def test_the_issuer_follows_the_deployment_setting() -> None:
    env = {"CONSULTA_JWT_SECRET": SECRET, "CONSULTA_JWT_ISSUER": "clinic-a", "CONSULTA_USER": "u"}
    token = resolved(token=None, user=None, tenant="t", env=env)
    assert verify_token(token, SECRET, issuer="clinic-a").subject == "u"


def test_without_token_or_secret_the_error_names_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CONSULTA_TOKEN") as caught:
        resolve_token(token=None, user="u", tenant="t", env={"CONSULTA_DATA_DIR": str(tmp_path)})
    assert str(tmp_path / "jwt.secret") in caught.value.message


@pytest.mark.parametrize(
    ("listen", "connect"),
    [
        ("0.0.0.0:50051", "127.0.0.1:50051"),
        ("[::]:50051", "127.0.0.1:50051"),
        (":7000", "127.0.0.1:7000"),
        ("10.0.0.5:50051", "10.0.0.5:50051"),
        ("consulta.internal:443", "consulta.internal:443"),
    ],
)
def test_a_wildcard_listen_address_connects_to_this_machine(listen: str, connect: str) -> None:
    assert local_address(listen) == connect


def test_minted_tokens_are_reused_then_renewed_before_they_expire() -> None:
    now = [1000.0]
    tokens = MintingTokens(
        user="u", tenant="t", ttl_seconds=100, env={"CONSULTA_JWT_SECRET": SECRET},
        clock=lambda: now[0],
    )  # fmt: skip
    first = tokens()
    assert tokens.minted == 1  # the first token is minted when the source is made
    now[0] += 80
    assert tokens() == first
    assert tokens.minted == 1
    now[0] += 11  # past 90% of the lifetime
    assert verify_token(tokens(), SECRET).subject == "u"
    assert tokens.minted == 2
