"""The client's reopening policy: capped exponential waits with jitter, repeatable with a
seeded random source, and the server's RetryInfo taken as it is."""

from __future__ import annotations

import dataclasses
import random

import pytest

from clients.retry import RetryPolicy


def test_waits_are_jittered_below_the_capped_exponential_ceiling() -> None:
    policy = RetryPolicy(initial_backoff=0.2, max_backoff=1.0, jitter=0.5, rng=random.Random(7))
    ceilings = [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    waits = [policy.delay(failure) for failure in range(1, 7)]
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling * 0.5 <= wait <= ceiling
    # The three waits at the cap differ: clients cut off together do not come back together.
    assert len(set(waits[3:])) == 3


def test_a_seeded_source_gives_the_same_waits_and_another_seed_other_waits() -> None:
    def waits(seed: int) -> list[float]:
        policy = RetryPolicy(rng=random.Random(seed))
        return [policy.delay(failure) for failure in range(1, 6)]

    assert waits(1) == waits(1)
    assert waits(1) != waits(2)
    # The same draw as the policy's: wait = ceiling * (1 - jitter * u).
    draw = random.Random(1).random()
    assert waits(1)[0] == pytest.approx(0.2 * (1 - 0.5 * draw))


def test_no_jitter_is_the_plain_capped_exponential() -> None:
    policy = RetryPolicy(initial_backoff=0.2, max_backoff=1.0, jitter=0.0)
    assert [policy.delay(f) for f in range(1, 5)] == [0.2, 0.4, 0.8, 1.0]


def test_full_jitter_spreads_waits_from_zero_to_the_ceiling() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=1.0, jitter=1.0, rng=random.Random(3))
    waits = [policy.delay(1) for _ in range(200)]
    assert 0.0 <= min(waits) < 0.1 and 0.9 < max(waits) <= 1.0


def test_the_servers_retry_info_wins_unjittered() -> None:
    policy = RetryPolicy(rng=random.Random(5))
    assert policy.delay(3, hint=2.5) == 2.5


def test_jitter_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=-0.1)


def test_replacing_the_attempts_keeps_the_random_source() -> None:
    rng = random.Random(9)
    policy = dataclasses.replace(RetryPolicy(rng=rng), attempts=2)
    assert policy.attempts == 2 and policy.rng is rng
