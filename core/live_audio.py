"""The committed audio of a live job, for the worker that transcribes it while it arrives.

Bytes come from the upload's segments (``live/<job_id>/<n:08d>``) while it receives, and from
the composed object (``audio/<job_id>``) once it is done. The uploads row says which, and how
many bytes are committed: a reader never sees a byte the server has not acknowledged.

A read racing the compose at ``finish`` is safe: the finisher deletes the segments only after
the row says the upload is done, so a segment that has vanished means the composed object is
there; the reader then reads the row again and reads that instead.
"""

from __future__ import annotations

from core.db.upload_store import is_live, segment_keys
from core.errors import FailedPrecondition, NotFound
from core.runtime import Runtime
from core.stored_audio import audio_key

#: Rounds of "row, then objects" a read tries before it gives up on a moving upload.
ATTEMPTS = 4


class LiveAudioReader:
    """Reads one live job's committed audio by offset."""

    def __init__(self, runtime: Runtime, job_id: str) -> None:
        self.rt = runtime
        self.job_id = job_id

    async def read(self, offset: int, max_bytes: int = 1 << 20) -> tuple[bytes, bool]:
        """Committed bytes of the live job's audio from ``offset`` (at most max_bytes;
        empty when none yet) and whether the upload is finished (no byte will follow
        the committed ones). Works before and after the segments are composed.

        NotFound when the job has no live upload (erased, or never live);
        FailedPrecondition when the upload kept moving under every attempt.
        """
        if offset < 0 or max_bytes <= 0:
            raise ValueError("offset must be >= 0 and max_bytes > 0")
        for _ in range(ATTEMPTS):
            row = await self.rt.uploads.get(self.job_id)
            if row is None or not is_live(row):
                raise NotFound(f"Job {self.job_id} has no live upload.", reason="UPLOAD_NOT_FOUND")
            # Finished only once the finisher gave the job its audio (composed, checked):
            # a worker that moved on at `complete` alone would leave RECEIVING before the
            # finisher's conditional write, which then takes the job for cancelled.
            finished = row.complete and row.job_id is not None
            length = min(max_bytes, row.committed_offset - offset)
            if length <= 0:
                return b"", finished
            try:
                if row.job_id:  # done: the segments are composed
                    data = await self.rt.blobs.read(audio_key(self.job_id), offset, length)
                else:
                    data = await self._from_segments(segment_keys(row), offset, length)
            except NotFound:
                continue  # composed and cleaned up meanwhile (or erased): look again
            return data, finished
        raise FailedPrecondition(
            f"The live audio of job {self.job_id} kept changing while it was read.",
            reason="LIVE_AUDIO_MOVING",
        )

    async def _from_segments(self, keys: list[tuple[str, int]], offset: int, length: int) -> bytes:
        out = bytearray()
        start = 0
        for key, size in keys:
            end = start + size
            if end > offset and len(out) < length:
                skip = max(0, offset - start)
                want = min(size - skip, length - len(out))
                out += await self.rt.blobs.read(key, skip, want)
            start = end
            if len(out) >= length:
                break
        return bytes(out)
