"""Per-caller limits on UploadAudio (issue 10, finding 4): one caller cannot hold a server's
memory or the staging store with streams that never finish.

- Concurrent streams per caller (tenant and subject) on this server: each open stream may
  buffer up to a part in memory, so the count bounds that memory.
- Bytes staged per caller: the committed bytes of every unfinished upload of the caller,
  read from the database, so abandoned uploads count on every server until the sweeper
  expires them (``upload_expiry_seconds``).
- An idle stream (no message for ``upload_idle_timeout_seconds``) ends with ABORTED; its
  committed bytes stay and it can be resumed until it expires.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

from core.auth import Principal
from core.errors import Aborted, ResourceExhausted
from core.runtime import Runtime
from server.live_checks import LiveCheckShelf
from server.part_writes import PartWrites

T = TypeVar("T")

#: When a caller at its stream limit should try again: an upload usually finishes or fails
#: within seconds of its last chunk.
STREAMS_RETRY_SECONDS = 5.0


class UploadLimits:
    """The open upload streams of this server, by caller."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.settings = runtime.settings
        self._open: Counter[tuple[str, str]] = Counter()
        #: This server's part writes still running, which a resume waits for.
        self.part_writes = PartWrites()
        #: This server's live checks, kept across a resume (server/live_checks.py).
        self.live_checks = LiveCheckShelf(runtime.settings.live_idle_seconds)

    @contextmanager
    def stream(self, principal: Principal) -> Iterator[None]:
        """Holds one of the caller's stream slots for the life of the ``with`` block."""
        key = (principal.tenant, principal.subject)
        limit = self.settings.upload_max_streams_per_caller
        if self._open[key] >= limit:
            raise ResourceExhausted(
                f"You already have {limit} uploads open on this server; finish or close one first.",
                reason="TOO_MANY_UPLOADS",
                retry_after=STREAMS_RETRY_SECONDS,
            )
        self._open[key] += 1
        try:
            yield
        finally:
            self._open[key] -= 1
            if not self._open[key]:
                del self._open[key]

    async def check_staging(
        self, principal: Principal, more: int, *, upload_id: str | None = None, held: int = 0
    ) -> None:
        """RESOURCE_EXHAUSTED when staging ``more`` bytes would pass the caller's limit. With
        ``upload_id``, that upload's bytes are not read from the database but given as
        ``held`` (its committed bytes and its part being written), so the check can run
        while that part is written."""
        limit = self.settings.upload_max_staged_bytes_per_caller
        staged = held + await self.rt.uploads.staged_bytes(principal, upload_id)
        if staged + more > limit:
            raise ResourceExhausted(
                f"Your unfinished uploads hold {staged} bytes and this one needs {more} more; "
                f"the limit is {limit}. Finish or abandon an upload (abandoned ones are "
                f"cleared after {self.settings.upload_expiry_seconds:.0f} s).",
                reason="UPLOAD_STAGING_FULL",
                retry_after=min(self.settings.upload_expiry_seconds, 60.0),
            )


async def idle_limited(
    requests: AsyncIterator[T],
    seconds: float,
    resume_hint: list[str],
    busy: Callable[[], bool] = lambda: False,
) -> AsyncIterator[T]:
    """``requests`` until one takes longer than ``seconds`` to arrive; then ABORTED, naming
    the upload to resume (``resume_hint`` holds its id once the server has given it). The
    clock does not run out while ``busy()`` (the server writing a part the client may be
    waiting on): it starts again."""
    iterator = aiter(requests)
    while True:
        arriving: asyncio.Future[T | object] = asyncio.ensure_future(anext(iterator, _END))
        try:
            while not (await asyncio.wait({arriving}, timeout=seconds))[0]:
                if busy():
                    continue
                resume = f" Resume upload {resume_hint[0]}." if resume_hint else ""
                raise Aborted(
                    f"No upload message arrived for {seconds:g} s, so the stream was closed."
                    f"{resume}",
                    reason="UPLOAD_IDLE",
                )
        finally:
            if not arriving.done():
                arriving.cancel()
        message = arriving.result()
        if message is _END:
            return
        yield cast(T, message)


_END = object()
