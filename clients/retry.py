"""When the client opens a stream again, and how long it waits first."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import grpc

# Codes after which a stream is worth opening again: the server went away or the connection
# broke (proxies report a reset stream as INTERNAL). Anything else is the caller's to see.
RESUMABLE_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL}
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a broken upload or watch stream is reopened."""

    attempts: int = 5
    """Reopenings in a row without progress before the error is raised."""
    initial_backoff: float = 0.2
    """Seconds before the first reopening; doubled each time after."""
    max_backoff: float = 5.0
    """Longest wait between reopenings."""
    jitter: float = 0.5
    """Share of each wait drawn at random (0: none, 1: anywhere from 0 to the full wait), so
    that clients cut off together by one server restart do not all come back at once."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    """Where the jitter comes from; seed one to make the waits repeatable."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be from 0 to 1, not {self.jitter}")

    def delay(self, failure: int, hint: float | None = None) -> float:
        """Seconds to wait before reopening after ``failure`` (1-based) failures in a row: the
        capped exponential wait less a random share of up to ``jitter`` of it. The server's
        RetryInfo, when it sent one, wins as it is: it is the server's own spread."""
        if hint is not None:
            return hint
        ceiling = min(self.initial_backoff * 2 ** (failure - 1), self.max_backoff)
        return float(ceiling * (1.0 - self.jitter * self.rng.random()))
