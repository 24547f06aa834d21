"""UploadAudio in live mode (``UploadConfig.live``): the job exists from the first message,
every chunk is stored durably before its offset is acknowledged, and the job's events travel
on the same stream (design: server/LIVE.md).

Two tasks feed one queue of answers: one receives chunks (a status per committed chunk), the
other follows the job's events with WatchJob's machinery (server/watch.py), so the events
come in sequence order with no repeat. The stream ends with the job after ``finish``, with
FAILED_PRECONDITION (reason JOB_CANCELLED) when the job is cancelled or deleted meanwhile, or
with the receiving side's error.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from consulta.v1 import transcription_service_pb2 as pb

from core.audio_head import PROBE_BYTES, check_head
from core.auth import Principal
from core.codec import is_terminal_event, job_to_pb
from core.db.models import UploadRow
from core.db.upload_store import LIVE_HANDLE, segment_key, segments
from core.domain import JobState
from core.errors import (
    Aborted,
    AudioError,
    ConsultaError,
    FailedPrecondition,
    NotFound,
    OutOfRange,
)
from core.live_audio import LiveAudioReader
from core.live_check import LiveCheck, StreamedFigures
from core.live_finish import FAILED_CODE, discard_live_upload, fail_live_job, finish_live_upload
from core.runtime import Runtime
from core.stored_audio import audio_key
from server import metrics
from server.jobs import create_job, new_job_id
from server.upload_checks import check_chunk, incomplete
from server.upload_limits import UploadLimits

log = logging.getLogger(__name__)

#: Marks the end of the answers.
_END = object()


def _status(upload_id: str, offset: int) -> pb.UploadAudioResponse:
    return pb.UploadAudioResponse(
        status=pb.UploadStatus(upload_id=upload_id, committed_offset=offset)
    )


class LiveUpload:
    """One live UploadAudio stream, fresh or resumed."""

    def __init__(self, runtime: Runtime, principal: Principal, limits: UploadLimits) -> None:
        self.rt = runtime
        self.principal = principal
        self.limits = limits
        self.upload_id = ""
        self.limit = runtime.settings.max_audio_bytes
        #: Committed segments, (size, tag), and the bytes they hold.
        self.segments: list[tuple[int, str]] = []
        self.received = 0
        #: The first bytes while their format is not known yet; None once it is.
        self.head: bytearray | None = bytearray()
        #: Set once this stream ends the upload itself: the job's end is then its own doing.
        self.finishing = False
        self.tag = uuid.uuid4().hex[:8]
        self.out: asyncio.Queue[Any] = asyncio.Queue()
        #: The audio decoded and hashed as it is committed, from offset 0: a new upload's,
        #: or one a dropped stream on this server left (server/live_checks.py); None on a
        #: stream resumed elsewhere, whose ``finish`` decodes the composed audio (LIVE.md).
        self.check: LiveCheck | None = None

    # -- opening -----------------------------------------------------------------------------

    async def start(
        self, config: pb.UploadConfig, requests: AsyncIterator[pb.UploadAudioRequest]
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        """A new live upload: its job (RECEIVING) is made with the upload row, at once."""
        upload_id = new_job_id()
        row = UploadRow(
            id=upload_id,
            owner=self.principal.subject,
            tenant=self.principal.tenant,
            config=config.SerializeToString(),
            blob_key=audio_key(upload_id),
            multipart_handle=LIVE_HANDLE,
            parts_json="[]",
            committed_offset=0,
            complete=False,
            job_id=None,
        )
        job, created = await create_job(
            self.rt,
            self.principal,
            config.job,
            job_id=upload_id,
            filename=config.filename,
            live_upload=row,
        )
        if not created:  # a repeated idempotency key: the first job, nothing else
            yield pb.UploadAudioResponse(job=job)
            return
        self.upload_id = upload_id
        self.check = LiveCheck(max_seconds=self.rt.settings.max_audio_seconds)
        yield _status(upload_id, 0)
        yield pb.UploadAudioResponse(job=job)
        async for response in self._stream(requests, after_sequence=0):
            yield response

    async def resume(
        self, row: UploadRow, requests: AsyncIterator[pb.UploadAudioRequest]
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        """Go on from the committed offset, on any server; events follow from the job's
        present sequence (WatchJob with ``after_sequence`` gives the ones missed)."""
        self.upload_id = row.id
        job = await self.rt.store.get_visible(row.id, self.principal)
        if JobState(job.state).terminal:
            await discard_live_upload(self.rt, row.id)  # ended by someone else: erase
        if row.complete or JobState(job.state).terminal:
            yield _status(row.id, row.committed_offset)
            yield pb.UploadAudioResponse(job=job_to_pb(job))
            return
        self.segments = segments(row)
        self.received = row.committed_offset
        if self.received >= PROBE_BYTES:
            self.head = None  # it passed the check, or the job would have failed
        else:
            data, _ = await LiveAudioReader(self.rt, row.id).read(0, PROBE_BYTES)
            self.head = None if data and check_head(data, complete=False) else bytearray(data)
        yield _status(row.id, self.received)
        yield pb.UploadAudioResponse(job=job_to_pb(job))
        # This server's check of the bytes so far, when an earlier stream here left one.
        self.check = await self.limits.live_checks.take(row.id, self.received)
        async for response in self._stream(requests, after_sequence=job.event_seq):
            yield response

    # -- the two tasks -----------------------------------------------------------------------

    async def _stream(
        self, requests: AsyncIterator[pb.UploadAudioRequest], *, after_sequence: int
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        shelf = self.limits.live_checks
        if self.check is not None:
            shelf.hold(self.upload_id, self.check)
        tasks = [
            asyncio.create_task(self._guard(self._receive(requests))),
            asyncio.create_task(self._guard(self._forward_events(after_sequence))),
        ]
        try:
            while True:
                item = await self.out.get()
                if item is _END:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.check is not None:  # kept for a resume here unless the upload ended
                shelf.release(self.upload_id, self.check, keep=not self.finishing)

    async def _guard(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream's answer: raised by the answering loop
            self.out.put_nowait(exc)

    async def _forward_events(self, after_sequence: int) -> None:
        from server.watch import watch_job  # the same machinery as WatchJob

        try:
            async for message in watch_job(self.rt, self.principal, self.upload_id, after_sequence):
                if not message.HasField("event"):
                    continue
                self.out.put_nowait(pb.UploadAudioResponse(event=message.event))
                if is_terminal_event(message.event):
                    break
        except NotFound:
            pass  # deleted
        except ConsultaError:
            # The events are a convenience here (WatchJob has them all): the upload goes on.
            log.warning("live upload %s stopped forwarding events", self.upload_id)
            return
        if not self.finishing:
            self.out.put_nowait(await self._why_refused())

    def _ended(self, state: str, error: str) -> FailedPrecondition:
        if state == JobState.FAILED.value:
            return FailedPrecondition(
                f"Job {self.upload_id} failed while its audio was being received ({error}); "
                "the upload ended.",
                reason="JOB_FAILED",
            )
        return FailedPrecondition(
            f"Job {self.upload_id} was {state or 'deleted'} while its audio was being "
            "received; the upload ended.",
            reason="JOB_CANCELLED",
        )

    # -- receiving ---------------------------------------------------------------------------

    async def _receive(self, requests: AsyncIterator[pb.UploadAudioRequest]) -> None:
        finished = False
        async for message in self._messages(requests):
            chunk = check_chunk(message, self.received, self.limit, self.upload_id, self.received)
            if chunk.data:
                if self.head is not None:
                    await self._check_head(chunk.data, complete=False)
                await self.limits.check_staging(self.principal, len(chunk.data))
                # Shielded: a stream cancelled mid-commit still ends with the row and the
                # objects agreeing (a segment is either committed or deleted).
                await _shielded(self._commit(chunk.data))
                if self.check is not None:
                    await self.check.feed(chunk.data)
                metrics.UPLOAD_BYTES.inc(len(chunk.data))
                self.out.put_nowait(_status(self.upload_id, self.received))
            if chunk.finish:
                finished = True
                break
        if not finished:
            raise incomplete(self.upload_id, self.received)
        if self.head is not None:
            await self._check_head(b"", complete=True)
        self.finishing = True
        claimed = await self.rt.uploads.claim_finish(self.upload_id, self.received)
        if claimed is None:
            raise await self._why_refused()
        streamed = await self._streamed_figures(claimed)
        await _shielded(finish_live_upload(self.rt, claimed, abandoned=False, streamed=streamed))
        job = await self.rt.store.get_visible(self.upload_id, self.principal)
        self.out.put_nowait(_status(self.upload_id, self.received))
        self.out.put_nowait(pb.UploadAudioResponse(job=job_to_pb(job)))
        self.out.put_nowait(_END)

    async def _commit(self, data: bytes) -> None:
        key = segment_key(self.upload_id, len(self.segments) + 1, self.tag)
        await self.rt.blobs.put(key, data)
        committed = [*self.segments, (len(data), self.tag)]
        if not await self.rt.uploads.commit_segment(self.upload_id, self.received, committed):
            await self.rt.blobs.delete(key)  # nobody's: this stream's own object
            raise await self._why_refused()
        self.segments = committed
        self.received += len(data)

    async def _messages(
        self, requests: AsyncIterator[pb.UploadAudioRequest]
    ) -> AsyncIterator[pb.UploadAudioRequest]:
        """The client's messages; while the audio is decoded as it arrives, a refusal from
        the decoder ends them as soon as it comes, even while the client sends nothing."""
        iterator = aiter(requests)
        while True:
            pull = asyncio.ensure_future(_pull(iterator))
            try:
                decoding = self.check.decoding if self.check is not None else None
                if decoding is not None and not decoding.done():
                    either: set[asyncio.Future[Any]] = {pull, decoding}
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if self.check is not None and self.check.refusal is not None:
                    await self._refuse(self.check.refusal)
                message = await pull
            finally:
                pull.cancel()  # no-op once it is done
            if message is None:
                return
            yield message

    async def _streamed_figures(self, claimed: UploadRow) -> StreamedFigures | None:
        """The upload is claimed, no byte follows: the figures of the audio decoded while it
        arrived (None without a check, or when the streamed decode gave up: ``finish``
        decodes the composed object then). A refusal fails the job, as a decode would."""
        if self.check is None:
            return None
        try:
            return await self.check.figures()
        except (AudioError, OutOfRange) as exc:
            await fail_live_job(self.rt, claimed, FAILED_CODE, exc.message)
            raise

    async def _refuse(self, exc: AudioError | OutOfRange) -> None:
        """The audio is refused while it streams: the job FAILED with the reason, its
        segments and upload row gone (the job row stays, so the client that was told its id
        learns why); raises. An upload the sweeper finished meanwhile is left to its job."""
        self.finishing = True
        row = await self.rt.uploads.get(self.upload_id)
        if row is not None and row.complete:
            raise await self._why_refused()
        if row is not None:
            await fail_live_job(self.rt, row, FAILED_CODE, exc.message)
        raise exc

    async def _check_head(self, data: bytes, *, complete: bool) -> None:
        assert self.head is not None
        self.head += data
        try:
            if check_head(bytes(self.head), complete=complete):
                self.head = None
        except AudioError as exc:
            await self._refuse(exc)

    async def _why_refused(self) -> ConsultaError:
        """Why a commit or the claim at ``finish`` found the upload elsewhere than expected."""
        job = await self.rt.store.get(self.upload_id)
        if job is None or JobState(job.state).terminal:
            # Whoever ended the job may not have erased the upload (a worker that failed
            # it): its segments go now.
            await discard_live_upload(self.rt, self.upload_id)
            if job is None:
                return self._ended("", "")
            return self._ended(job.state, job.error_message)
        row = await self.rt.uploads.get(self.upload_id)
        if row is not None and row.complete:
            return FailedPrecondition(
                f"Upload {self.upload_id} was already finished (its client was silent for "
                f"{self.rt.settings.live_idle_seconds:g} s); its job goes on with the audio "
                "committed then.",
                reason="LIVE_UPLOAD_FINISHED",
            )
        offset = row.committed_offset if row is not None else self.received
        return Aborted(
            f"Another stream is writing upload {self.upload_id}; resume it from offset {offset}.",
            reason="UPLOAD_CONFLICT",
        )


async def _pull(
    iterator: AsyncIterator[pb.UploadAudioRequest],
) -> pb.UploadAudioRequest | None:
    """The next message, or None at the end."""
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return None


async def _shielded(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to its end even when the stream is cancelled meanwhile (its outcome is
    then only logged: nobody is left to hear it)."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_log_outcome)
        raise


def _log_outcome(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("a cancelled live stream's last write ended: %r", task.exception())
