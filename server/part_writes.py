"""The part writes still running on this server, by upload: a resumed stream waits for them.

A stream that breaks while a part is being written still records that part (server/uploads.py
``_written``), after the call has ended. A client that resumes at once (the same command run
again after Ctrl-C, a retry) would otherwise read the offset from before that part, send the
part again, and race the first write for the part's record: the later of the two records
wins, and ``complete_multipart`` can then refuse the part whose token lost. So the resume
waits, for at most ``within`` seconds, and reads the upload's row after the write.

A resume that lands on another server does not see this server's writes; that case is
still open.
"""

from __future__ import annotations

import asyncio

from core.errors import Aborted

#: How long a resume waits for a part still being written before it is told to retry.
SETTLE_SECONDS = 30.0


class PartWrites:
    """This server's running part writes, one per upload at most."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[None]] = {}

    def track(self, upload_id: str, write: asyncio.Task[None]) -> None:
        """Remember ``write`` until it ends."""
        self._running[upload_id] = write

        def forget(done: asyncio.Task[None]) -> None:
            if self._running.get(upload_id) is done:
                del self._running[upload_id]

        write.add_done_callback(forget)

    async def settled(self, upload_id: str, within: float = SETTLE_SECONDS) -> bool:
        """Wait for the upload's running write, if any; True if there was one. ABORTED
        (retry) when it is still running after ``within`` seconds."""
        write = self._running.get(upload_id)
        if write is None:
            return False
        done, _ = await asyncio.wait({write}, timeout=within)
        if not done:
            raise Aborted(
                f"A part of upload {upload_id} is still being written; resume it again shortly.",
                reason="UPLOAD_PART_IN_FLIGHT",
            )
        return True
