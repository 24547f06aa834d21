"""ConsultaClient: a typed async client of consulta.v1.TranscriptionService.

Every method takes and returns the generated messages and raises only clients.errors types.
Uploads resume from the server's committed offset after a broken stream, and watch() resumes
after the last event it delivered, so callers see neither gaps nor repeats.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc
from consulta.v1 import governance_pb2, job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.errors import ConsultaClientError, ServerError, Unavailable, from_rpc_error
from clients.live import LiveSession
from clients.live_sources import LiveStreamSource, PacedFileSource
from clients.retry import RESUMABLE_CODES, RetryPolicy
from clients.sources import ByteSource, open_source
from clients.upload import UploadProgress, UploadSession

SERVICE_NAME = "consulta.v1.TranscriptionService"
TERMINAL_STATES = frozenset(
    {job_pb2.JOB_STATE_COMPLETED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}
)
_Resp = TypeVar("_Resp")


def is_terminal(state: int) -> bool:
    return state in TERMINAL_STATES


class ConsultaClient:
    """Async client over one channel; use as ``async with ConsultaClient(...) as client``."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        token: str | Callable[[], str] | None = None,
        tls: bool = False,
        root_certificates: bytes | None = None,
        certificate_chain: bytes | None = None,
        private_key: bytes | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.target = target
        self._token = token
        self._tls = tls
        self._root_certificates = root_certificates
        # A client certificate, for servers that require mutual TLS.
        self._certificate_chain = certificate_chain
        self._private_key = private_key
        self._timeout = timeout
        self.retry = retry or RetryPolicy()
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.TranscriptionServiceAsyncStub | None = None

    async def __aenter__(self) -> Self:
        # The channel is made here, inside the running loop, because grpc.aio binds it there.
        options = [("grpc.max_receive_message_length", 16 << 20)]
        if self._tls:
            creds = grpc.ssl_channel_credentials(
                root_certificates=self._root_certificates,
                private_key=self._private_key,
                certificate_chain=self._certificate_chain,
            )
            self._channel = grpc.aio.secure_channel(self.target, creds, options=options)
        else:
            self._channel = grpc.aio.insecure_channel(self.target, options=options)
        self._stub = pb_grpc.TranscriptionServiceStub(self._channel)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None
            self._stub = None

    @property
    def stub(self) -> pb_grpc.TranscriptionServiceAsyncStub:
        if self._stub is None:
            raise ConsultaClientError("Use the client inside `async with`.")
        return self._stub

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        # Metadata rather than call credentials: gRPC refuses call credentials on the insecure
        # loopback channel of the embedded default.
        # A callable token is asked on every call, so that a long watch or upload that
        # reconnects after the first token expired gets a fresh one.
        token = self._token() if callable(self._token) else self._token
        return (("authorization", f"Bearer {token}"),) if token else ()

    async def _unary(self, call: Callable[..., Any], request: Any, response: type[_Resp]) -> _Resp:
        try:
            result = await call(request, metadata=self.metadata, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from exc
        if not isinstance(result, response):
            raise ServerError(f"The server answered with {type(result).__name__}.")
        return result

    # Uploads and job creation.

    async def upload(
        self,
        source: Path | str | AsyncIterable[bytes] | ByteSource,
        config: job_pb2.JobConfig | None = None,
        *,
        mime_type: str = "",
        filename: str = "",
        on_progress: Callable[[UploadProgress], None] | None = None,
        resume_attempts: int | None = None,
        resume_upload_id: str = "",
    ) -> job_pb2.Job:
        """Upload audio and return the job made from it.

        A path is hashed first so its size and SHA-256 are declared and checked by the server.
        After UNAVAILABLE or a broken stream the upload resumes from the committed offset, up to
        ``resume_attempts`` times (the client's RetryPolicy by default). ``resume_upload_id``
        continues an upload an earlier process began with the same source and config;
        ``on_progress`` reports its id as soon as the server gives one, to remember it.
        """
        if isinstance(source, str | Path):
            filename = filename or Path(source).name
            byte_source = await open_source(source)
        elif isinstance(source, AsyncIterable):
            byte_source = await open_source(source)
        else:
            byte_source = source
        upload_config = pb.UploadConfig(
            job=config or job_pb2.JobConfig(),
            mime_type=mime_type,
            filename=filename,
            declared_size_bytes=byte_source.size or 0,
            sha256=byte_source.sha256,
        )
        policy = self.retry
        if resume_attempts is not None:
            policy = dataclasses.replace(policy, attempts=resume_attempts)
        session = UploadSession(self, byte_source, upload_config, policy, on_progress)
        session.upload_id = resume_upload_id
        return await session.run()

    async def upload_live(
        self,
        source: Path | str | AsyncIterable[bytes] | ByteSource,
        config: job_pb2.JobConfig | None = None,
        *,
        mime_type: str = "",
        filename: str = "",
        speed: float = 1.0,
        on_progress: Callable[[UploadProgress], None] | None = None,
        resume_attempts: int | None = None,
    ) -> LiveSession:
        """A live upload (UploadConfig.live): the job exists from the first message and its
        events come back while the audio is sent; see clients.live for how to drive it.

        A path is sent at ``speed`` times its real pace, a chunk per second of audio, as a
        microphone would; an async byte stream sends each piece as it comes. Size and SHA-256
        are not declared, since a live upload may be stopped early (``source.stop()`` on a
        paced file). After UNAVAILABLE or a broken stream the upload resumes from the
        committed offset, as upload() does.
        """
        if isinstance(source, str | Path):
            filename = filename or Path(source).name
            byte_source: ByteSource = await PacedFileSource.open(Path(source), speed=speed)
        elif isinstance(source, AsyncIterable):
            byte_source = LiveStreamSource(source)
        else:
            byte_source = source
        upload_config = pb.UploadConfig(
            job=config or job_pb2.JobConfig(), mime_type=mime_type, filename=filename, live=True
        )
        policy = self.retry
        if resume_attempts is not None:
            policy = RetryPolicy(resume_attempts, policy.initial_backoff, policy.max_backoff)
        return LiveSession(self, byte_source, upload_config, policy, on_progress)

    async def get_upload_status(self, upload_id: str) -> pb.GetUploadStatusResponse:
        return await self._unary(
            self.stub.GetUploadStatus,
            pb.GetUploadStatusRequest(upload_id=upload_id),
            pb.GetUploadStatusResponse,
        )

    async def create_job(
        self,
        config: job_pb2.JobConfig | None = None,
        *,
        transcript_text: str | None = None,
        audio_uri: str | None = None,
        audio_content: bytes | None = None,
        mime_type: str = "",
    ) -> job_pb2.Job:
        """Create a job from a text transcript, an audio URI, or small inline audio."""
        request = pb.CreateJobRequest(config=config or job_pb2.JobConfig(), mime_type=mime_type)
        given = [x is not None for x in (transcript_text, audio_uri, audio_content)]
        if sum(given) != 1:
            raise ConsultaClientError(
                "Give exactly one of transcript_text, audio_uri and audio_content."
            )
        if transcript_text is not None:
            request.transcript_text = transcript_text
        elif audio_uri is not None:
            request.audio_uri = audio_uri
        elif audio_content is not None:
            request.audio_content = audio_content
        response = await self._unary(self.stub.CreateJob, request, pb.CreateJobResponse)
        return response.job

    # Reads.

    async def get_job(self, job_id: str, *, include_audio_url: bool = False) -> job_pb2.Job:
        request = pb.GetJobRequest(job_id=job_id, include_audio_url=include_audio_url)
        response = await self._unary(self.stub.GetJob, request, pb.GetJobResponse)
        return response.job

    async def list_jobs(
        self,
        *,
        states: Sequence[job_pb2.JobState.ValueType] = (),
        page_size: int = 20,
        limit: int | None = None,
    ) -> AsyncIterator[job_pb2.Job]:
        """The caller's jobs, newest first, fetched a page at a time; at most ``limit``."""
        token = ""
        seen = 0
        while True:
            request = pb.ListJobsRequest(page_size=page_size, page_token=token, states=states)
            page = await self._unary(self.stub.ListJobs, request, pb.ListJobsResponse)
            for job in page.jobs:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield job
            token = page.next_page_token
            if not token or (limit is not None and seen >= limit):
                return

    async def list_audit_events(
        self,
        *,
        job_id: str = "",
        subject: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
    ) -> AsyncIterator[governance_pb2.AuditEvent]:
        """The tenant's audit log, newest first, at most ``limit`` events (auditor role)."""
        request = pb.ListAuditEventsRequest(
            job_id=job_id, subject=subject, page_size=min(limit, 100)
        )
        if start is not None:
            request.start_time.FromDatetime(start)
        if end is not None:
            request.end_time.FromDatetime(end)
        seen = 0
        while True:
            page = await self._unary(self.stub.ListAuditEvents, request, pb.ListAuditEventsResponse)
            for event in page.events[: limit - seen]:
                seen += 1
                yield event
            if not page.next_page_token or seen >= limit:
                return
            request.page_token = page.next_page_token

    async def list_page(
        self,
        *,
        states: Sequence[job_pb2.JobState.ValueType] = (),
        page_size: int = 20,
        page_token: str = "",
    ) -> tuple[list[job_pb2.Job], str]:
        """One page of the caller's jobs, newest first, and the next page's token ("" when
        this is the last page)."""
        request = pb.ListJobsRequest(page_size=page_size, page_token=page_token, states=states)
        page = await self._unary(self.stub.ListJobs, request, pb.ListJobsResponse)
        return list(page.jobs), page.next_page_token

    async def get_transcript(self, job_id: str) -> job_pb2.Transcript:
        request = pb.GetTranscriptRequest(job_id=job_id)
        response = await self._unary(self.stub.GetTranscript, request, pb.GetTranscriptResponse)
        return response.transcript

    async def get_summary(self, job_id: str) -> job_pb2.Summary:
        request = pb.GetSummaryRequest(job_id=job_id)
        response = await self._unary(self.stub.GetSummary, request, pb.GetSummaryResponse)
        return response.summary

    async def watch(
        self, job_id: str, after_sequence: int = 0
    ) -> AsyncIterator[pb.WatchJobResponse]:
        """The job's snapshot, then each event after ``after_sequence`` once, in order, until
        the job is terminal. On UNAVAILABLE or a stream that ends early it reconnects after
        the last event delivered; the reconnected stream's snapshot is not repeated."""
        last = after_sequence
        snapshot_sent = False
        terminal = False
        failures = 0
        while True:
            hint: float | None = None
            call = self.stub.WatchJob(
                pb.WatchJobRequest(job_id=job_id, after_sequence=last), metadata=self.metadata
            )
            try:
                async for message in call:
                    if message.HasField("snapshot"):
                        terminal = terminal or is_terminal(message.snapshot.state)
                        if not snapshot_sent:
                            snapshot_sent = True
                            yield message
                        continue
                    event = message.event
                    if event.sequence <= last:
                        continue  # a repeat after a reconnect: already delivered
                    last = event.sequence
                    failures = 0
                    if event.HasField("state_changed") and is_terminal(event.state_changed.state):
                        terminal = True
                    yield message
                if terminal:
                    return
                failure: ConsultaClientError = Unavailable(
                    "The watch stream ended before the job finished."
                )
            except grpc.aio.AioRpcError as exc:
                failure = from_rpc_error(exc)
                if exc.code() not in RESUMABLE_CODES:
                    raise failure from exc
                hint = failure.retry_delay
            finally:
                call.cancel()
            failures += 1
            if failures > self.retry.attempts:
                raise failure
            await asyncio.sleep(self.retry.delay(failures, hint))

    # Changes.

    async def cancel(self, job_id: str) -> job_pb2.Job:
        request = pb.CancelJobRequest(job_id=job_id)
        response = await self._unary(self.stub.CancelJob, request, pb.CancelJobResponse)
        return response.job

    async def delete(self, job_id: str) -> pb.DeleteJobResponse:
        request = pb.DeleteJobRequest(job_id=job_id)
        return await self._unary(self.stub.DeleteJob, request, pb.DeleteJobResponse)

    # Health.

    async def health(self, service: str = "") -> str:
        """grpc.health.v1 status of ``service`` ("" is the whole server), e.g. "SERVING"."""
        if self._channel is None:
            raise ConsultaClientError("Use the client inside `async with`.")
        stub = health_pb2_grpc.HealthStub(self._channel)
        response = await self._unary(
            stub.Check,
            health_pb2.HealthCheckRequest(service=service),
            health_pb2.HealthCheckResponse,
        )
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
