"""Helpers shared by the test suites: real services (``services``; SeaweedFS and the dev CA
are app/devstack/, shared with ``make stack``), the import rules' checker (``import_rules``)
and ``eventually``, the bounded poll that tests use instead of sleeps."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    within: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T], *, within: float = ..., interval: float = ..., what: str = ...
) -> T: ...


async def eventually(
    probe: Callable[[], object],
    *,
    within: float = 10.0,
    interval: float = 0.02,
    what: str = "condition",
) -> object:
    """Call ``probe`` until it returns a truthy value and return that value.

    AssertionError after ``within`` seconds, naming ``what`` and the last value or error, so
    a test that waits for something that never happens fails instead of hanging.
    """
    deadline = time.monotonic() + within
    last: object = None
    while True:
        try:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            last = value
        except AssertionError as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not hold within {within:.1f}s (last: {last!r})")
        await asyncio.sleep(interval)


async def consistently(
    probe: Callable[[], object],
    *,
    duration: float = 0.2,
    interval: float = 0.02,
    what: str = "condition",
) -> None:
    """Assert that ``probe`` stays truthy for ``duration`` seconds: the bounded way to show
    that something does not happen (a bound is not exceeded, a consumer does not return)."""
    deadline = time.monotonic() + duration
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if not value:
            raise AssertionError(f"{what} stopped holding (got {value!r})")
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(interval)
