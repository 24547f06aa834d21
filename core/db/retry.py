"""Optimistic disconnect handling: the pool hands out connections without pinging them
first (no round trip per checkout), and an operation that meets one the database dropped
(a restart, a failover, a terminated session) runs once more, when that is safe.

SQLAlchemy's "Disconnect Handling - Optimistic": a statement that fails on a dropped
connection invalidates that connection and every one pooled before it, so the second run
checks out a fresh one. core/db/engine.py turns that failure into :class:`ConnectionLost`.

- :func:`idempotent`, for reads: repeated on any lost connection.
- :func:`before_commit`, for a write that is one transaction: repeated only when the
  connection was lost before COMMIT was sent (the database then rolled the transaction
  back and nothing of it stays); lost during COMMIT, whether it took is unknown, so the
  caller gets UNAVAILABLE instead of a second write.

Only the one database operation is repeated, never more: a method that commits several
transactions is made of decorated parts, not decorated whole.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from core.db.engine import ConnectionLost

P = ParamSpec("P")
T = TypeVar("T")


def _retrying(
    operation: Callable[P, Awaitable[T]], *, repeatable: Callable[[ConnectionLost], bool]
) -> Callable[P, Awaitable[T]]:
    @functools.wraps(operation)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await operation(*args, **kwargs)
        except ConnectionLost as lost:
            if not repeatable(lost):
                raise
        # Outside the except block: a second failure (the database still down) is the
        # caller's UNAVAILABLE on its own, not chained to the first.
        return await operation(*args, **kwargs)

    return run


def idempotent(operation: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run a read once more when it met a dropped connection."""
    return _retrying(operation, repeatable=lambda _lost: True)


def before_commit(operation: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run a one-transaction write once more when its connection was dropped before its
    COMMIT went out (so the database rolled it back)."""
    return _retrying(operation, repeatable=lambda lost: not lost.in_commit)
