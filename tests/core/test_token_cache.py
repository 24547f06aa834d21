"""The verified-token cache: a hit only for the exact token that verified, never past the
token's own exp, and refusals are never remembered."""

from __future__ import annotations

import functools

import pytest

from core.auth import Principal, TokenCache, mint_token, verify_token_until
from core.errors import Unauthenticated

SECRET = "cache-test-secret-" + "x" * 32


class Clock:
    """A clock the test moves; TokenCache and the expiry check read it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Counting:
    """The real verification, counting how often it runs."""

    def __init__(self) -> None:
        self.calls = 0
        self._verify = functools.partial(verify_token_until, secret=SECRET)

    def __call__(self, token: str) -> tuple[Principal, float]:
        self.calls += 1
        return self._verify(token)


def test_a_verified_token_is_verified_once_and_keeps_its_principal() -> None:
    verify = Counting()
    cache = TokenCache(verify)
    alice = mint_token(SECRET, "alice")
    bob = mint_token(SECRET, "bob", tenant="clinic-b", roles=("service",))
    for _ in range(3):
        assert cache(alice) == Principal("alice", "default", frozenset())
        assert cache(bob) == Principal("bob", "clinic-b", frozenset({"service"}))
    assert verify.calls == 2


def test_an_entry_ends_at_the_tokens_exp() -> None:
    verify = Counting()
    token = mint_token(SECRET, "alice", ttl_seconds=60)
    _, expires = verify_token_until(token, SECRET)
    clock = Clock(expires - 1)
    cache = TokenCache(verify, clock=clock)
    cache(token)
    cache(token)
    assert verify.calls == 1
    clock.now = expires  # from exp on, the cache no longer answers: PyJWT decides again
    cache(token)
    assert verify.calls == 2


def test_a_tampered_token_misses_the_cache_and_refusals_are_not_cached() -> None:
    verify = Counting()
    cache = TokenCache(verify)
    token = mint_token(SECRET, "alice")
    cache(token)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            cache(forged)
    assert verify.calls == 3
