"""Where the CLI's token comes from, and where it connects: the client alone sends the token
it is given, and asks a minter (when its program has one) for the rest."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from clients.cli import cli
from clients.cli_common import local_address
from clients.errors import ConfigurationError
from clients.token import MintingTokens, resolve_token
from tests.clients.cli_runner import CLEAN_ENV


class CountingMinter:
    """Signs "user/tenant/roles/ttl/n" strings and remembers every request."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self, *, user: str, tenant: str, roles: tuple[str, ...] = (), ttl_seconds: int = 3600
    ) -> str:
        self.calls.append({"user": user, "tenant": tenant, "roles": roles, "ttl": ttl_seconds})
        return f"{user}/{tenant}/{','.join(roles)}/{ttl_seconds}/{len(self.calls)}"


def test_an_explicit_token_is_used_as_given() -> None:
    minter = CountingMinter()
    assert resolve_token(token="abc", user=None, tenant="t", minter=minter) == "abc"
    assert minter.calls == []


def test_without_a_token_the_minter_signs_one_for_the_user_and_tenant() -> None:
    minter = CountingMinter()
    token = resolve_token(
        token=None, user=None, tenant="clinic", minter=minter, env={"CONSULTA_USER": "env-u"}
    )
    assert callable(token)
    assert token() == "env-u/clinic//3600/1"
    flagged = resolve_token(token=None, user="flag-user", tenant="clinic", minter=minter)
    assert callable(flagged) and flagged().startswith("flag-user/clinic/")


def test_without_token_or_minter_the_error_names_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="CONSULTA_TOKEN"):
        resolve_token(token=None, user="u", tenant="t", minter=None)


def test_the_client_cli_alone_never_signs_even_beside_a_secret() -> None:
    env = {**CLEAN_ENV, "CONSULTA_JWT_SECRET": "a-secret-long-enough-for-hs256-signing"}
    result = CliRunner().invoke(cli, ["jobs", "list"], env=env, catch_exceptions=False)
    assert result.exit_code == 1
    assert "No token: set CONSULTA_TOKEN (or --token)." in result.stderr
    assert "token" not in cli.commands  # minting is the operator CLI's (app/cli.py)


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
    minter = CountingMinter()
    tokens = MintingTokens(minter, user="u", tenant="t", ttl_seconds=100, clock=lambda: now[0])
    first = tokens()
    assert tokens.minted == 1  # the first token is minted when the source is made
    now[0] += 80
    assert tokens() == first
    assert tokens.minted == 1
    now[0] += 11  # past 90% of the lifetime
    assert tokens() == "u/t//100/2"
    assert tokens.minted == 2
