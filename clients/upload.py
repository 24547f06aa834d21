"""One resumable upload over the UploadAudio bidirectional stream.

The first stream sends the configuration; every later one sends only ``resume_upload_id``.
Each stream sends chunks from the offset the server answers with while a second task reads
committed offsets, so the server's acknowledgements never hold up the bytes. When a stream
breaks, GetUploadStatus says whether the upload finished anyway (then the job is fetched)
or from where to resume.

A live upload (``UploadConfig.live``) also answers each stream's first status with the job
in state RECEIVING and then carries the job's events; both go to ``on_message`` as they
come, and the stream still ends with the job after ``finish``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from clients.errors import ConsultaClientError, ServerError, Unavailable, from_rpc_error
from clients.retry import RESUMABLE_CODES, RetryPolicy
from clients.sources import ByteSource


class UploadCalls(Protocol):
    """What an upload needs of the client (ConsultaClient has it), named here so that this
    module does not import the client that imports it."""

    @property
    def stub(self) -> pb_grpc.TranscriptionServiceAsyncStub: ...

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]: ...

    async def get_upload_status(self, upload_id: str) -> pb.GetUploadStatusResponse: ...

    async def get_job(self, job_id: str, *, include_audio_url: bool = False) -> job_pb2.Job: ...


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """Where an upload stands: bytes handed to the stream, bytes the server stored durably,
    the total when known, and how many times the upload was resumed."""

    upload_id: str
    sent: int
    committed: int
    total: int | None
    resumes: int


_UploadCall = grpc.aio.StreamStreamCall[pb.UploadAudioRequest, pb.UploadAudioResponse]


class _BrokenStream(Exception):
    """The server closed the stream without a job and without an error status."""


class UploadSession:
    """Runs one upload to its job, resuming a bounded number of times."""

    def __init__(
        self,
        client: UploadCalls,
        source: ByteSource,
        config: pb.UploadConfig,
        policy: RetryPolicy,
        on_progress: Callable[[UploadProgress], None] | None,
        on_message: Callable[[pb.UploadAudioResponse], None] | None = None,
    ) -> None:
        self._client = client
        self._source = source
        self._config = config
        self._policy = policy
        self._on_progress = on_progress
        self._on_message = on_message
        self.live = config.live
        self.upload_id = ""
        self.sent = 0
        self.committed = 0
        self.resumes = 0

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(
                UploadProgress(
                    upload_id=self.upload_id,
                    sent=self.sent,
                    committed=self.committed,
                    total=self._source.size,
                    resumes=self.resumes,
                )
            )

    async def run(self) -> job_pb2.Job:
        failures = 0
        committed_at_failure = 0
        while True:
            hint: float | None = None
            try:
                if self.upload_id:
                    status = await self._client.get_upload_status(self.upload_id)
                    if status.complete:
                        # The final chunk got through but the job did not come back.
                        return await self._client.get_job(status.job_id)
                    config = pb.UploadConfig(resume_upload_id=self.upload_id)
                    self.resumes += 1
                else:
                    config = self._config
                return await self._stream_once(config)
            except grpc.aio.AioRpcError as exc:
                failure = from_rpc_error(exc)
                if exc.code() not in RESUMABLE_CODES:
                    raise failure from exc
                hint = failure.retry_delay
            except Unavailable as exc:  # from get_upload_status / get_job
                failure = exc
                hint = exc.retry_delay
            except _BrokenStream as exc:
                failure = Unavailable(str(exc))
            if self.committed > committed_at_failure:
                # This stream stored more bytes: the budget is for failures in a row without
                # progress, so that a long upload over a flaky network still finishes.
                failures = 0
            committed_at_failure = self.committed
            failures += 1
            if failures > self._policy.attempts:
                raise failure
            await asyncio.sleep(self._policy.delay(failures, hint))

    async def _stream_once(self, config: pb.UploadConfig) -> job_pb2.Job:
        call = self._client.stub.UploadAudio(None, metadata=self._client.metadata)
        try:
            await call.write(pb.UploadAudioRequest(config=config))
            first = await call.read()
            if not isinstance(first, pb.UploadAudioResponse):  # grpc.aio.EOF
                raise _BrokenStream("The server closed the upload before answering.")
            if first.HasField("job"):
                # A repeated idempotency key: the server answers with the first job at once.
                self._report()
                return first.job
            if not first.HasField("status"):
                raise ServerError("The server did not answer the upload's config with a status.")
            self.upload_id = first.status.upload_id
            self._commit(first.status.committed_offset)
            self.sent = self.committed
            self._report()
            writer = asyncio.ensure_future(self._send(call, self.committed))
            reader = asyncio.ensure_future(self._read_until_job(call))
            try:
                await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
                if writer.done() and not writer.cancelled():
                    error = writer.exception()
                    # A write fails when the call has ended; the reader then holds the status.
                    if error is not None and not isinstance(
                        error, grpc.aio.AioRpcError | asyncio.InvalidStateError
                    ):
                        raise error
                return await reader
            finally:
                for task in (writer, reader):
                    task.cancel()
                await asyncio.gather(writer, reader, return_exceptions=True)
        finally:
            call.cancel()

    def _commit(self, offset: int) -> None:
        self.committed = max(self.committed, offset)
        self._source.committed(self.committed)

    async def _send(self, call: _UploadCall, offset: int) -> None:
        async for chunk in self._source.chunks_from(offset):
            request = pb.UploadAudioRequest(
                chunk=pb.AudioChunk(offset=chunk.offset, data=chunk.data, finish=chunk.last)
            )
            await call.write(request)
            self.sent = chunk.offset + len(chunk.data)
            self._report()
        with contextlib.suppress(asyncio.InvalidStateError):
            await call.done_writing()

    async def _read_until_job(self, call: _UploadCall) -> job_pb2.Job:
        opened = False
        while True:
            message = await call.read()
            if not isinstance(message, pb.UploadAudioResponse):  # grpc.aio.EOF
                raise _BrokenStream("The server closed the upload before the job was created.")
            if message.HasField("status"):
                self._commit(message.status.committed_offset)
                self._report()
            elif message.HasField("event") and self.live:
                if self._on_message is not None:
                    self._on_message(message)
            elif (
                message.HasField("job")
                and self.live
                and not opened
                and message.job.state == job_pb2.JOB_STATE_RECEIVING
            ):
                # The live job, answered right after a stream's first status; the job that
                # ends the stream comes after `finish`.
                opened = True
                if self._on_message is not None:
                    self._on_message(message)
            elif message.HasField("job"):
                job = message.job
                self.committed = self.sent
                self._report()
                return job
            else:
                raise ConsultaClientError("The server sent an empty upload response.")
