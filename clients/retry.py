"""When the client opens a stream again, and how long it waits first."""

from __future__ import annotations

from dataclasses import dataclass

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

    def delay(self, failure: int, hint: float | None = None) -> float:
        """Seconds to wait before reopening after ``failure`` (1-based) failures in a row; the
        server's RetryInfo, when it sent one, wins."""
        if hint is not None:
            return hint
        return float(min(self.initial_backoff * 2 ** (failure - 1), self.max_backoff))
