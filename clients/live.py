"""A live upload: audio goes out as it is recorded, and the job's events come back on the
same stream while it is sent; after ``finish``, WatchJob follows the job to its note.

    live = await client.upload_live(path, config, speed=1.0)
    async for message in live.upload():   # the job (RECEIVING), events..., the job again
        ...
    async for message in live.follow():   # WatchJob after the last event seen, to the end
        ...

Events are delivered once each, in the order they came: a resumed stream may send again
events the broken one carried, and WatchJob starts after the highest sequence below which
every event was seen, so a gap left by a broken stream is filled by the follow-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Protocol

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from clients.retry import RetryPolicy
from clients.sources import ByteSource
from clients.upload import UploadCalls, UploadProgress, UploadSession


class LiveCalls(UploadCalls, Protocol):
    """What a live session needs of the client (ConsultaClient has it), named here so that
    this module does not import the client that imports it."""

    def watch(self, job_id: str, after_sequence: int = 0) -> AsyncIterator[pb.WatchJobResponse]: ...


class SequenceTracker:
    """Which event sequences were delivered: all up to ``watermark``, plus a few above it
    when events came with a gap. Memory stays as small as the gaps."""

    def __init__(self) -> None:
        self.watermark = 0
        self._above: set[int] = set()

    def add(self, sequence: int) -> bool:
        """Record ``sequence``; False when it was delivered before."""
        if sequence <= self.watermark or sequence in self._above:
            return False
        self._above.add(sequence)
        while self.watermark + 1 in self._above:
            self.watermark += 1
            self._above.remove(self.watermark)
        return True

    @property
    def highest(self) -> int:
        return max(self._above, default=self.watermark)


class LiveSession:
    """One live upload and the follow-up watch of its job."""

    def __init__(
        self,
        client: LiveCalls,
        source: ByteSource,
        config: pb.UploadConfig,
        policy: RetryPolicy,
        on_progress: Callable[[UploadProgress], None] | None = None,
    ) -> None:
        config.live = True
        self._client = client
        self.source = source
        self._queue: asyncio.Queue[pb.UploadAudioResponse] = asyncio.Queue()
        self._session = UploadSession(
            client, source, config, policy, on_progress, self._queue.put_nowait
        )
        self.seen = SequenceTracker()
        self.job: job_pb2.Job | None = None

    @property
    def upload_id(self) -> str:
        return self._session.upload_id

    async def upload(self) -> AsyncGenerator[pb.UploadAudioResponse, None]:
        """The job as soon as it exists (state RECEIVING), then each event once as it comes,
        and last the job the stream ends with. Statuses go to ``on_progress``."""
        task = asyncio.ensure_future(self._session.run())
        try:
            while True:
                getter = asyncio.ensure_future(self._queue.get())
                await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    await asyncio.gather(getter, return_exceptions=True)
                    break
                message = getter.result()
                if self._take(message):
                    yield message
            while not self._queue.empty():
                message = self._queue.get_nowait()
                if self._take(message):
                    yield message
            job = await task  # raises what ended the upload
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.job = job
        yield pb.UploadAudioResponse(job=job)

    def _take(self, message: pb.UploadAudioResponse) -> bool:
        if message.HasField("event"):
            return self.seen.add(message.event.sequence)
        if message.HasField("job"):
            if self.job is not None:
                return False  # a resumed stream opens with the job again
            self.job = message.job
        return True

    async def follow(self) -> AsyncGenerator[pb.WatchJobResponse, None]:
        """WatchJob from the last event below which every one was seen: the snapshot, then
        each event not delivered yet, until the job is terminal."""
        if self.job is None:
            raise RuntimeError("follow() comes after upload().")
        async for message in self._client.watch(self.job.job_id, self.seen.watermark):
            if message.HasField("event") and not self.seen.add(message.event.sequence):
                continue
            yield message
