"""UploadAudio, the stream protocol: bytes stream into the blob store in parts; nothing is
queued until the whole file is stored, hashed and decoded. Live uploads (``config.live``) are
handed to server/live_uploads.py; rows are read and written through core/db/upload_store.py.

Committed offsets are the bytes of parts the store has written durably. Bytes after the last
part live only in this stream's buffer (at most one part), so a broken stream loses them and
the client resends from the committed offset, which the database records for any server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from core import logs
from core.auth import Principal
from core.blobstore.base import Part
from core.codec import job_to_pb
from core.db.models import UploadRow
from core.db.store import utcnow
from core.db.upload_store import is_live
from core.errors import (
    Aborted,
    AudioError,
    DataLoss,
    FieldViolation,
    InvalidArgument,
    OutOfRange,
)
from core.runtime import Runtime
from core.stored_audio import audio_key, check_stored_audio
from core.stream_probe import ReceivingProbe
from server import metrics
from server.jobs import create_job, new_job_id
from server.live_uploads import LiveUpload
from server.upload_checks import check_chunk, check_config, incomplete
from server.upload_limits import UploadLimits, idle_limited
from server.upload_parts import Gathered, hash_pieces
from server.validation import require_id

log = logging.getLogger(__name__)


@dataclass
class _Upload:
    row: UploadRow
    config: pb.UploadConfig
    parts: list[Part] = field(default_factory=list)
    digest: Any = None  # hashlib.sha256 while receiving a fresh upload
    #: Decodes a fresh upload on a local store while it arrives (no second decode at the end).
    probe: ReceivingProbe | None = None
    #: The part being written while the next one arrives (one at a time), and its bytes
    #: until they count in ``row.committed_offset``.
    writing: asyncio.Task[None] | None = None
    writing_size: int = 0


def _quiet(future: asyncio.Future[Any]) -> None:
    """Retrieve a dropped future's exception, so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()


def _size(pieces: list[bytes | memoryview]) -> int:
    return sum(len(piece) for piece in pieces)


def _status(upload: _Upload) -> pb.UploadAudioResponse:
    return pb.UploadAudioResponse(
        status=pb.UploadStatus(
            upload_id=upload.row.id, committed_offset=upload.row.committed_offset
        )
    )


class UploadHandler:
    """One UploadAudio stream."""

    def __init__(self, runtime: Runtime, principal: Principal, limits: UploadLimits) -> None:
        self.rt = runtime
        self.principal = principal
        self.settings = runtime.settings
        self.limits = limits
        self._upload_ids: list[str] = []  # for the idle timeout's message
        self._upload: _Upload | None = None  # once the stream has one

    def _writing(self) -> bool:
        """A part is being written: the client may rightly wait for its status."""
        return self._upload is not None and self._upload.writing is not None

    async def run(
        self, requests: AsyncIterator[pb.UploadAudioRequest]
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        with self.limits.stream(self.principal):
            idle = self.settings.upload_idle_timeout_seconds
            messages = idle_limited(requests, idle, self._upload_ids, busy=self._writing)
            async for response in self._run(messages):
                yield response

    async def _run(
        self, requests: AsyncIterator[pb.UploadAudioRequest]
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        first = await anext(requests, None)
        if first is None or first.WhichOneof("request") != "config":
            raise InvalidArgument(
                "The first UploadAudio message must carry `config`.",
                reason="CONFIG_FIRST",
                violations=(FieldViolation("config", "Required in the first message."),),
            )
        config = first.config
        if config.resume_upload_id:
            row = await self._resume_row(config)
            self._upload_ids.append(row.id)
            logs.bind(job_id=row.id)
            if is_live(row):
                async for response in self._live().resume(row, requests):
                    yield response
                return
            upload = _Upload(
                row=row,
                config=pb.UploadConfig.FromString(row.config),
                parts=[Part(number=n, token=t) for n, t in json.loads(row.parts_json)],
            )
            if upload.row.complete and upload.row.job_id:
                job = await self.rt.store.get_visible(upload.row.job_id, self.principal)
                yield _status(upload)
                yield pb.UploadAudioResponse(job=job_to_pb(job))
                return
        else:
            check_config(config, self.settings)
            if config.job.idempotency_key:
                existing = await self.rt.store.find_by_idempotency_key(
                    self.principal, config.job.idempotency_key
                )
                if existing is not None:
                    yield pb.UploadAudioResponse(job=job_to_pb(existing))
                    return
            if config.live:
                live = self._live()
                async for response in live.start(config, requests):
                    if live.upload_id and not self._upload_ids:
                        self._upload_ids.append(live.upload_id)
                        logs.bind(job_id=live.upload_id)
                    yield response
                return
            upload = await self._start(config)
            self._upload_ids.append(upload.row.id)
            logs.bind(job_id=upload.row.id)  # the job it makes takes the upload's id
        yield _status(upload)
        async for response in self._receive(upload, requests):
            yield response

    # -- set-up ---------------------------------------------------------------------------

    def _live(self) -> LiveUpload:
        return LiveUpload(self.rt, self.principal, self.limits)

    async def _start(self, config: pb.UploadConfig) -> _Upload:
        await self.limits.check_staging(self.principal, config.declared_size_bytes)
        upload_id = new_job_id()
        key = audio_key(upload_id)
        handle = await self.rt.blobs.start_multipart(key)
        now = utcnow()
        row = UploadRow(
            id=upload_id,
            owner=self.principal.subject,
            tenant=self.principal.tenant,
            config=config.SerializeToString(),
            blob_key=key,
            multipart_handle=handle,
            parts_json="[]",
            committed_offset=0,
            complete=False,
            job_id=None,
            created_at=now,
            updated_at=now,
        )
        await self.rt.uploads.add(row)
        return _Upload(row=row, config=config)

    async def _resume_row(self, config: pb.UploadConfig) -> UploadRow:
        require_id(config.resume_upload_id, "config.resume_upload_id")
        if (
            config.HasField("job")
            or config.sha256
            or config.declared_size_bytes
            or config.mime_type
            or config.filename
        ):
            raise InvalidArgument(
                "A resumed upload keeps its first configuration; send only resume_upload_id.",
                reason="RESUME_WITH_CONFIG",
                violations=(FieldViolation("config", "Only resume_upload_id may be set."),),
            )
        row = await self.rt.uploads.get_visible(config.resume_upload_id, self.principal)
        if await self.limits.part_writes.settled(row.id):  # the broken stream's last part
            row = await self.rt.uploads.get_visible(row.id, self.principal)
        return row

    # -- bytes ----------------------------------------------------------------------------

    async def _receive(
        self, upload: _Upload, requests: AsyncIterator[pb.UploadAudioRequest]
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        self._upload = upload
        limit = upload.config.declared_size_bytes or self.settings.max_audio_bytes
        received = upload.row.committed_offset
        # Hash on the fly unless resumed (hashlib state cannot be stored; the stored object
        # is hashed once at the end instead).
        upload.digest = hashlib.sha256() if received == 0 else None
        if received == 0 and self.rt.blobs.keeps_local_files:
            upload.probe = ReceivingProbe(max_seconds=self.settings.max_audio_seconds)
        try:
            async for response in self._receive_bytes(upload, requests, limit):
                yield response
        finally:
            if upload.probe is not None:
                await upload.probe.aclose()

    async def _receive_bytes(
        self, upload: _Upload, requests: AsyncIterator[pb.UploadAudioRequest], limit: int
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        """Parts are written while the next one arrives. One write is in flight at a time, so
        parts, the digest and the committed offset advance in order; each part's status goes
        out as soon as it is durable and recorded, whether or not more bytes arrive."""
        gathered = Gathered(self.rt.blobs.part_size)
        received = upload.row.committed_offset
        finished = False
        messages = aiter(requests)
        arriving: asyncio.Future[pb.UploadAudioRequest | None] | None = None
        try:
            while not finished:
                arriving = arriving or asyncio.ensure_future(anext(messages, None))
                if await self._written_first(upload, arriving):
                    yield _status(upload)
                    continue
                message, arriving = arriving.result(), None
                if message is None:
                    break
                chunk = check_chunk(
                    message,
                    received,
                    limit,
                    upload.row.id,
                    upload.row.committed_offset,
                    declared=bool(upload.config.declared_size_bytes),
                )
                data = chunk.data
                received += len(data)
                finished = chunk.finish
                gathered.add(data)
                metrics.UPLOAD_BYTES.inc(len(data))
                if upload.probe is not None:
                    await upload.probe.feed(data)
                for part in gathered.parts():
                    # The part's staging check runs while the part before it is written.
                    allowed = asyncio.ensure_future(self._staging_allows(upload, part))
                    try:
                        if await self._written(upload):
                            yield _status(upload)
                    except BaseException:
                        # Its own failure, if it has one already, is not the one to report.
                        allowed.add_done_callback(_quiet)
                        allowed.cancel()
                        raise
                    upload.writing = asyncio.create_task(self._write_part(upload, part, allowed))
                    self.limits.part_writes.track(upload.row.id, upload.writing)
                    upload.writing_size = _size(part)
            if await self._written(upload) and not (finished and gathered.held):
                yield _status(upload)
        finally:
            if arriving is not None:
                arriving.cancel()
            if upload.writing is not None:
                # The stream failed: the part already on its way is still recorded, so the
                # client resumes after it. wait(), unlike gather(), leaves the write running
                # if this stream is cancelled again.
                upload.writing.add_done_callback(_quiet)  # its failure is not this one's
                await asyncio.wait({upload.writing})
                upload.writing = None
        if not finished:
            raise incomplete(upload.row.id, upload.row.committed_offset)
        if gathered.held or not upload.parts:
            if gathered.held:
                rest = gathered.take_rest()
                staging = self._staging_allows(upload, rest)
                upload.writing = asyncio.create_task(self._write_part(upload, rest, staging))
                self.limits.part_writes.track(upload.row.id, upload.writing)
                await self._written(upload)  # recorded even if the client goes away now
            yield _status(upload)
        job = await self._finish(upload)
        yield pb.UploadAudioResponse(job=job)

    @staticmethod
    async def _written_first(upload: _Upload, arriving: asyncio.Future[Any]) -> bool:
        """Wait for the next message or the part being written, whichever comes first; True
        when it was the part (its status is due), False when the message is there."""
        if upload.writing is None:
            await asyncio.wait({arriving})
            return False
        await asyncio.wait({arriving, upload.writing}, return_when=asyncio.FIRST_COMPLETED)
        if not upload.writing.done():
            return False
        return await UploadHandler._written(upload)

    @staticmethod
    async def _written(upload: _Upload) -> bool:
        """Wait for the part being written, if any (its failure is raised); True if one was."""
        if upload.writing is None:
            return False
        writing = upload.writing
        try:
            # Shielded: a stream cancelled meanwhile (the client went away) does not cancel
            # the write; it stays in ``upload.writing`` and ends on its own.
            await asyncio.shield(writing)
        except asyncio.CancelledError:
            writing.add_done_callback(_quiet)  # a failure of it is no longer this stream's
            raise
        finally:
            if writing.done():
                upload.writing = None
        return True

    def _staging_allows(
        self, upload: _Upload, pieces: list[bytes | memoryview]
    ) -> Coroutine[Any, Any, None]:
        """The check that the caller's staging limit allows this part after the bytes the
        upload holds now: its committed bytes and the part being written, if any (counted
        here, when the check is made, not read back)."""
        held = upload.row.committed_offset + upload.writing_size
        return self.limits.check_staging(
            self.principal, _size(pieces), upload_id=upload.row.id, held=held
        )

    async def _write_part(
        self, upload: _Upload, pieces: list[bytes | memoryview], allowed: Awaitable[None]
    ) -> None:
        await allowed
        size = _size(pieces)
        after = upload.row.committed_offset
        number = len(upload.parts) + 1
        stored = self.rt.blobs.upload_part_pieces(
            upload.row.blob_key, upload.row.multipart_handle, number, pieces
        )
        if upload.digest is not None:
            # Hashing (hashlib frees the GIL) runs in a thread while the store writes and
            # fsyncs the same part, instead of on the event loop chunk by chunk. Parts are
            # written one after another, so the digest still sees the bytes in order.
            _, part = await asyncio.gather(
                asyncio.to_thread(hash_pieces, upload.digest, pieces), stored
            )
        else:
            part = await stored
        upload.parts.append(part)
        upload.row.committed_offset += size
        upload.writing_size = 0  # counted as committed from here on
        upload.row.parts_json = json.dumps([[p.number, p.token] for p in upload.parts])
        if not await self.rt.uploads.commit_part(
            upload.row.id, upload.row.committed_offset, upload.row.parts_json, after=after
        ):
            raise Aborted(
                f"Upload {upload.row.id} went on in another stream; resume it to continue.",
                reason="UPLOAD_MOVED_ON",
            )

    async def _finish(self, upload: _Upload) -> job_pb2.Job:
        row, config = upload.row, upload.config
        if row.committed_offset == 0:
            await self._discard(upload)
            raise AudioError("The audio is empty (0 bytes).", reason="EMPTY_AUDIO")
        if config.declared_size_bytes and row.committed_offset != config.declared_size_bytes:
            await self._discard(upload)
            raise DataLoss(
                f"Received {row.committed_offset} bytes but {config.declared_size_bytes} were "
                "declared; the upload was discarded.",
                reason="SIZE_MISMATCH",
            )
        await self.rt.blobs.complete_multipart(row.blob_key, row.multipart_handle, upload.parts)
        path = self.rt.blobs.local_path(row.blob_key)
        decoded = await upload.probe.info(path) if upload.probe and path else None
        try:
            checked = await check_stored_audio(
                self.rt.blobs,
                row.blob_key,
                max_seconds=self.settings.max_audio_seconds,
                sha256=upload.digest.hexdigest() if upload.digest else None,
                size=row.committed_offset if upload.digest else None,
                decoded=decoded,
            )
            if config.sha256 and checked.sha256 != config.sha256:
                raise DataLoss(
                    "The audio's SHA-256 does not match the declared one; the upload was "
                    "discarded.",
                    reason="SHA256_MISMATCH",
                )
        except (AudioError, DataLoss, OutOfRange):
            await self.rt.blobs.delete(row.blob_key)
            await self._forget(upload)
            raise
        job, created = await create_job(
            self.rt,
            self.principal,
            config.job,
            job_id=row.id,
            audio=checked,
            filename=config.filename,
        )
        if not created:
            # Another upload with the same key (same tenant and owner) made the job first:
            # this audio belongs to no job, so it goes now rather than staying orphaned.
            await self.rt.blobs.delete(row.blob_key)
        await self.rt.uploads.mark_complete(row.id, job.job_id)
        return job

    async def _discard(self, upload: _Upload) -> None:
        await self.rt.blobs.abort_multipart(upload.row.blob_key, upload.row.multipart_handle)
        await self._forget(upload)

    async def _forget(self, upload: _Upload) -> None:
        await self.rt.uploads.forget(upload.row.id)


async def upload_status(
    runtime: Runtime, principal: Principal, upload_id: str
) -> pb.GetUploadStatusResponse:
    row = await runtime.uploads.get_visible(upload_id, principal)
    return pb.GetUploadStatusResponse(
        upload_id=row.id,
        committed_offset=row.committed_offset,
        complete=row.complete,
        job_id=row.job_id or "",
    )
