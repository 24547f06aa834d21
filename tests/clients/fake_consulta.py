"""A small in-memory TranscriptionService for the client's tests, and a thread that serves it.

It is a fake of our own seam (the gRPC contract), served by a real grpc.aio server on
127.0.0.1 port 0, so the client's channel, streams, metadata and status trailers all run for
real. Knobs let a test break an upload or a watch stream at a chosen point, or make the next
call of a method fail with google.rpc details.

The server runs on its own event loop in a thread so that synchronous CLI tests (whose
commands call asyncio.run) and async client tests can both talk to it.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from google.protobuf import message as pb_message
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from core.auth import verify_token
from core.errors import Unauthenticated

SECRET = "test-secret-for-the-client-tests"
SERVICE_NAME = "consulta.v1.TranscriptionService"
Context = grpc.aio.ServicerContext[Any, Any]

SEGMENTS = (
    job_pb2.TranscriptSegment(
        segment_id=0,
        start_seconds=0.0,
        end_seconds=2.5,
        speaker=job_pb2.SPEAKER_ROLE_CLINICIAN,
        text="What brings you in today?",
    ),
    job_pb2.TranscriptSegment(
        segment_id=1,
        start_seconds=2.5,
        end_seconds=6.0,
        speaker=job_pb2.SPEAKER_ROLE_PATIENT,
        text="I have had a headache for three days.",
    ),
)
NOTE_TEXT = "Subjective\nHeadache for three days.\nPlan\nIbuprofen as needed.\n"


def summary_for(template: job_pb2.NoteTemplate.ValueType, language: str) -> job_pb2.Summary:
    return job_pb2.Summary(
        template=template or job_pb2.NOTE_TEMPLATE_SOAP,
        language_code=language or "en",
        sections=[
            job_pb2.NoteSection(
                key="subjective",
                title="Subjective",
                sentences=[
                    job_pb2.NoteSentence(text="Headache for three days.", evidence_segment_ids=[1])
                ],
            ),
            job_pb2.NoteSection(
                key="plan",
                title="Plan",
                sentences=[job_pb2.NoteSentence(text="Ibuprofen as needed.")],
            ),
        ],
        rendered_text=NOTE_TEXT,
        engine="fake:scripted",
    )


def rich_status(
    code: grpc.StatusCode, message: str, details: list[pb_message.Message]
) -> tuple[tuple[str, bytes], ...]:
    """Trailing metadata carrying a google.rpc.Status with ``details``, as servers send it."""
    status = status_pb2.Status(code=code.value[0], message=message)
    for detail in details:
        status.details.add().Pack(detail)
    return (("grpc-status-details-bin", status.SerializeToString()),)


def bad_request(*violations: tuple[str, str]) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
            for f, d in violations
        ]
    )


def error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain="consulta.v1", metadata=metadata)


def retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    info = error_details_pb2.RetryInfo()
    info.retry_delay.FromMilliseconds(int(seconds * 1000))
    return info


@dataclass
class Injected:
    """An error the next call of a method fails with."""

    code: grpc.StatusCode
    message: str
    details: list[pb_message.Message] = field(default_factory=list)


@dataclass
class Upload:
    upload_id: str
    config: pb.UploadConfig
    owner: str
    data: bytearray = field(default_factory=bytearray)
    job_id: str = ""


@dataclass
class StoredJob:
    job: job_pb2.Job
    owner: str
    events: list[pb.JobEvent] = field(default_factory=list)
    transcript: job_pb2.Transcript | None = None
    summary: job_pb2.Summary | None = None


class FakeConsulta(pb_grpc.TranscriptionServiceServicer):
    """Keeps everything in dicts; each job's events are scripted when it is created."""

    def __init__(self) -> None:
        self.uploads: dict[str, Upload] = {}
        self.jobs: dict[str, StoredJob] = {}
        self.commit_every = 2 << 20
        # Abort the first upload stream with UNAVAILABLE once this many bytes are committed.
        self.break_upload_at: int | None = None
        # Abort an upload stream with UNAVAILABLE each time the committed offset first
        # reaches one of these (a flaky network that still lets the upload progress).
        self.break_upload_points: list[int] = []
        # Create the job but lose the response that carries it, once.
        self.lose_job_response = False
        # Hold the first upload stream once this many bytes are committed, and set
        # ``upload_paused``, so that a test can take the whole server down under it.
        self.pause_upload_at: int | None = None
        self.upload_paused = threading.Event()
        # End the first upload stream cleanly (no job, no error) at this committed offset.
        self.end_upload_at: int | None = None
        # Abort the first watch stream with UNAVAILABLE after this many events.
        self.break_watch_after: int | None = None
        # Hold the first watch stream after this many events and set ``watch_paused``.
        self.pause_watch_after: int | None = None
        self.watch_paused = threading.Event()
        # On a reconnect, send events from the start again, ignoring after_sequence (a
        # misbehaving server; the client must still not repeat events).
        self.replay_on_reconnect = False
        self.fail_jobs = False
        self.upload_streams = 0
        self.chunk_sizes: list[int] = []
        self.watch_requests: list[pb.WatchJobRequest] = []
        self.subjects: list[str] = []
        self.injected: dict[str, Injected] = {}
        self._upload_broken = False
        self._watch_broken = False

    # Plumbing.

    async def _enter(self, method: str, context: Context) -> str:
        """The caller's subject; aborts like the real server without a valid token, or with
        an error a test injected for ``method``."""
        metadata = dict(context.invocation_metadata() or ())
        header = str(metadata.get("authorization", ""))
        if not header.startswith("Bearer "):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "A bearer token is required.")
        try:
            principal = verify_token(header.removeprefix("Bearer "), SECRET)
        except Unauthenticated as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)
        self.subjects.append(principal.subject)
        injected = self.injected.pop(method, None)
        if injected is not None:
            await context.abort(
                injected.code,
                injected.message,
                rich_status(injected.code, injected.message, injected.details),
            )
        return principal.subject

    async def _job(self, job_id: str, subject: str, context: Context) -> StoredJob:
        stored = self.jobs.get(job_id)
        if stored is None or stored.owner != subject:
            message = f"Job {job_id} was not found."
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                message,
                rich_status(grpc.StatusCode.NOT_FOUND, message, [error_info("JOB_NOT_FOUND")]),
            )
        return stored

    def _create(self, owner: str, config: job_pb2.JobConfig, audio: bytes | None) -> job_pb2.Job:
        job_id = str(uuid.uuid4())
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        job = job_pb2.Job(
            name=f"jobs/{job_id}",
            job_id=job_id,
            state=job_pb2.JOB_STATE_QUEUED,
            config=config,
            create_time=now,
            update_time=now,
            language_code=config.language_code or "en",
        )
        if audio is not None:
            job.audio_size_bytes = len(audio)
            job.audio_sha256 = hashlib.sha256(audio).hexdigest()
        stored = StoredJob(job=job, owner=owner)
        self.jobs[job_id] = stored
        self._script(stored, transcribe=audio is not None)
        return job

    def _script(self, stored: StoredJob, *, transcribe: bool) -> None:
        """The events a worker would publish, and the job as they leave it."""
        payloads: list[dict[str, Any]] = [
            {"state_changed": pb.StateChanged(state=job_pb2.JOB_STATE_QUEUED)}
        ]
        if transcribe:
            payloads.append(
                {"state_changed": pb.StateChanged(state=job_pb2.JOB_STATE_TRANSCRIBING)}
            )
            payloads.append(
                {"progress": pb.TranscriptionProgress(processed_seconds=3, total_seconds=6)}
            )
            payloads.extend({"segment": s} for s in SEGMENTS)
        if self.fail_jobs:
            payloads.append(
                {
                    "state_changed": pb.StateChanged(
                        state=job_pb2.JOB_STATE_FAILED, reason="The audio could not be decoded."
                    )
                }
            )
        else:
            summary = summary_for(stored.job.config.template, stored.job.config.language_code)
            payloads.append({"state_changed": pb.StateChanged(state=job_pb2.JOB_STATE_SUMMARIZING)})
            payloads.append(
                {"note_delta": pb.NoteDelta(section_key="subjective", text=NOTE_TEXT[:30])}
            )
            payloads.append({"note_delta": pb.NoteDelta(section_key="plan", text=NOTE_TEXT[30:])})
            payloads.append({"note_completed": summary})
            payloads.append({"state_changed": pb.StateChanged(state=job_pb2.JOB_STATE_COMPLETED)})
            stored.summary = summary
            stored.transcript = job_pb2.Transcript(
                segments=SEGMENTS if transcribe else (), language_code="en", engine="fake"
            )
        stored.events = [pb.JobEvent(sequence=i, **p) for i, p in enumerate(payloads, start=1)]

    def finished(self, stored: StoredJob) -> job_pb2.Job:
        """The job after all its events (the fake's jobs finish as soon as they are made)."""
        job = job_pb2.Job()
        job.CopyFrom(stored.job)
        for event in stored.events:
            if event.HasField("state_changed"):
                job.state = event.state_changed.state
                if event.state_changed.state == job_pb2.JOB_STATE_FAILED:
                    job.error.code = grpc.StatusCode.INVALID_ARGUMENT.value[0]
                    job.error.message = event.state_changed.reason
        job.progress = 1.0 if job.state == job_pb2.JOB_STATE_COMPLETED else job.progress
        job.last_event_sequence = len(stored.events)
        return job

    # Uploads.

    async def UploadAudio(
        self, request_iterator: AsyncIterator[pb.UploadAudioRequest], context: Context
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        subject = await self._enter("UploadAudio", context)
        self.upload_streams += 1
        first = await anext(request_iterator)
        if not first.HasField("config"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Send the config first.")
        if first.config.resume_upload_id:
            upload = self.uploads.get(first.config.resume_upload_id)
            if upload is None or upload.owner != subject:
                await context.abort(grpc.StatusCode.NOT_FOUND, "No such upload.")
            if upload.job_id:
                # A finished upload answers with its status and its job, as the contract says.
                yield pb.UploadAudioResponse(
                    status=pb.UploadStatus(
                        upload_id=upload.upload_id, committed_offset=len(upload.data)
                    )
                )
                yield pb.UploadAudioResponse(job=self.finished(self.jobs[upload.job_id]))
                return
        else:
            upload = Upload(str(uuid.uuid4()), first.config, subject)
            self.uploads[upload.upload_id] = upload
        yield pb.UploadAudioResponse(
            status=pb.UploadStatus(upload_id=upload.upload_id, committed_offset=len(upload.data))
        )
        # Received but not yet durable: lost when the stream breaks, like a partial S3 part.
        pending = bytearray()
        async for request in request_iterator:
            chunk = request.chunk
            expected = len(upload.data) + len(pending)
            if chunk.offset != expected:
                message = f"The chunk starts at byte {chunk.offset}; expected {expected}."
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    message,
                    rich_status(
                        grpc.StatusCode.INVALID_ARGUMENT, message, [error_info("OFFSET_MISMATCH")]
                    ),
                )
            self.chunk_sizes.append(len(chunk.data))
            pending.extend(chunk.data)
            if len(pending) >= self.commit_every or chunk.finish:
                upload.data.extend(pending)
                pending.clear()
                yield pb.UploadAudioResponse(
                    status=pb.UploadStatus(
                        upload_id=upload.upload_id, committed_offset=len(upload.data)
                    )
                )
            if self.break_upload_points and len(upload.data) >= self.break_upload_points[0]:
                self.break_upload_points.pop(0)
                await context.abort(grpc.StatusCode.UNAVAILABLE, "fake: flaky network")
            if not self._upload_broken:
                if self.break_upload_at is not None and len(upload.data) >= self.break_upload_at:
                    self._upload_broken = True
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "fake: connection lost")
                if self.pause_upload_at is not None and len(upload.data) >= self.pause_upload_at:
                    self._upload_broken = True
                    self.upload_paused.set()
                    await asyncio.Event().wait()  # until the server stops and cancels us
                if self.end_upload_at is not None and len(upload.data) >= self.end_upload_at:
                    self._upload_broken = True
                    return
            if chunk.finish:
                async for job_response in self._finish_upload(upload, context):
                    yield job_response
                return

    async def _finish_upload(
        self, upload: Upload, context: Context
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        data = bytes(upload.data)
        declared = upload.config.sha256
        if declared and hashlib.sha256(data).hexdigest() != declared:
            await context.abort(grpc.StatusCode.DATA_LOSS, "The audio does not match its SHA-256.")
        size = upload.config.declared_size_bytes
        if size and size != len(data):
            await context.abort(grpc.StatusCode.DATA_LOSS, "The audio does not match its size.")
        job = self._create(upload.owner, upload.config.job, data)
        upload.job_id = job.job_id
        if self.lose_job_response:
            self.lose_job_response = False
            await context.abort(grpc.StatusCode.UNAVAILABLE, "fake: connection lost at the end")
        yield pb.UploadAudioResponse(job=job)

    async def GetUploadStatus(
        self, request: pb.GetUploadStatusRequest, context: Context
    ) -> pb.GetUploadStatusResponse:
        subject = await self._enter("GetUploadStatus", context)
        upload = self.uploads.get(request.upload_id)
        if upload is None or upload.owner != subject:
            await context.abort(grpc.StatusCode.NOT_FOUND, "No such upload.")
        return pb.GetUploadStatusResponse(
            upload_id=upload.upload_id,
            committed_offset=len(upload.data),
            complete=bool(upload.job_id),
            job_id=upload.job_id,
        )

    # Jobs.

    async def CreateJob(
        self, request: pb.CreateJobRequest, context: Context
    ) -> pb.CreateJobResponse:
        subject = await self._enter("CreateJob", context)
        if request.WhichOneof("source") != "transcript_text":
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "The fake takes text only.")
        if not request.transcript_text.strip():
            message = "The transcript is empty."
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                message,
                rich_status(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    message,
                    [bad_request(("transcript_text", "must not be empty"))],
                ),
            )
        return pb.CreateJobResponse(job=self._create(subject, request.config, None))

    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.GetJobResponse:
        subject = await self._enter("GetJob", context)
        stored = await self._job(request.job_id, subject, context)
        return pb.GetJobResponse(job=self.finished(stored))

    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        subject = await self._enter("ListJobs", context)
        jobs = [self.finished(s) for s in reversed(self.jobs.values()) if s.owner == subject]
        if request.states:
            jobs = [j for j in jobs if j.state in request.states]
        start = int(request.page_token or 0)
        size = request.page_size or 20
        end = start + size
        return pb.ListJobsResponse(
            jobs=jobs[start:end], next_page_token=str(end) if end < len(jobs) else ""
        )

    async def GetTranscript(
        self, request: pb.GetTranscriptRequest, context: Context
    ) -> pb.GetTranscriptResponse:
        subject = await self._enter("GetTranscript", context)
        stored = await self._job(request.job_id, subject, context)
        if stored.transcript is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "No transcript yet.")
        return pb.GetTranscriptResponse(transcript=stored.transcript)

    async def GetSummary(
        self, request: pb.GetSummaryRequest, context: Context
    ) -> pb.GetSummaryResponse:
        subject = await self._enter("GetSummary", context)
        stored = await self._job(request.job_id, subject, context)
        if stored.summary is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "The job has no note.")
        return pb.GetSummaryResponse(summary=stored.summary)

    async def WatchJob(
        self, request: pb.WatchJobRequest, context: Context
    ) -> AsyncIterator[pb.WatchJobResponse]:
        subject = await self._enter("WatchJob", context)
        stored = await self._job(request.job_id, subject, context)
        reconnect = bool(self.watch_requests)
        self.watch_requests.append(
            pb.WatchJobRequest(job_id=request.job_id, after_sequence=request.after_sequence)
        )
        snapshot = job_pb2.Job()
        snapshot.CopyFrom(stored.job)
        snapshot.last_event_sequence = request.after_sequence
        yield pb.WatchJobResponse(snapshot=snapshot)
        after = 0 if reconnect and self.replay_on_reconnect else request.after_sequence
        sent = 0
        for event in stored.events:
            if event.sequence <= after:
                continue
            yield pb.WatchJobResponse(event=event)
            sent += 1
            if (
                not self._watch_broken
                and self.break_watch_after is not None
                and sent >= self.break_watch_after
            ):
                self._watch_broken = True
                await context.abort(grpc.StatusCode.UNAVAILABLE, "fake: server restarting")
            if (
                not self._watch_broken
                and self.pause_watch_after is not None
                and sent >= self.pause_watch_after
            ):
                self._watch_broken = True
                self.watch_paused.set()
                await asyncio.Event().wait()  # until the server stops and cancels us

    async def CancelJob(
        self, request: pb.CancelJobRequest, context: Context
    ) -> pb.CancelJobResponse:
        subject = await self._enter("CancelJob", context)
        stored = await self._job(request.job_id, subject, context)
        job = self.finished(stored)
        if job.state not in (job_pb2.JOB_STATE_COMPLETED, job_pb2.JOB_STATE_FAILED):
            job.state = job_pb2.JOB_STATE_CANCELLED
        return pb.CancelJobResponse(job=job)

    async def DeleteJob(
        self, request: pb.DeleteJobRequest, context: Context
    ) -> pb.DeleteJobResponse:
        subject = await self._enter("DeleteJob", context)
        await self._job(request.job_id, subject, context)
        del self.jobs[request.job_id]
        response = pb.DeleteJobResponse()
        response.delete_time.GetCurrentTime()
        return response

    # The audit log and retention are tested against the real server (tests/e2e); the fake
    # answers them as a server without them would.

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: Context
    ) -> pb.ListAuditEventsResponse:
        await self._enter("ListAuditEvents", context)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Not in the fake.")
        raise AssertionError("unreachable")

    async def GetRetentionPolicy(
        self, request: pb.GetRetentionPolicyRequest, context: Context
    ) -> pb.GetRetentionPolicyResponse:
        await self._enter("GetRetentionPolicy", context)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Not in the fake.")
        raise AssertionError("unreachable")

    async def SetRetentionPolicy(
        self, request: pb.SetRetentionPolicyRequest, context: Context
    ) -> pb.SetRetentionPolicyResponse:
        await self._enter("SetRetentionPolicy", context)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Not in the fake.")
        raise AssertionError("unreachable")


class ServerThread:
    """A grpc.aio server with the fake and grpc.health.v1, on its own loop in a thread."""

    def __init__(
        self, fake: FakeConsulta, port: int = 0, *, tls: tuple[bytes, bytes] | None = None
    ) -> None:
        self.fake = fake
        self.port = port
        self._tls = tls  # (private key PEM, certificate chain PEM)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fake-consulta", daemon=True)
        self._health: Any = None
        self.serving = True
        self.http_port = 0
        self._error: BaseException | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_target(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("The fake server did not start within 10 s.")
        if self._error is not None:
            raise RuntimeError("The fake server failed to start.") from self._error

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def set_serving(self, serving: bool) -> None:
        """Switch both health entries between SERVING and NOT_SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._set_health(status), self._loop)
        future.result(timeout=10)

    async def _set_health(self, status: int) -> None:
        assert self._health is not None
        self.serving = status == health_pb2.HealthCheckResponse.SERVING
        for name in ("", SERVICE_NAME):
            await self._health.set(name, status)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced by start() instead of dying silently
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = grpc.aio.server()
        pb_grpc.add_TranscriptionServiceServicer_to_server(self.fake, server)
        self._health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        address = f"127.0.0.1:{self.port}"
        if self._tls is None:
            self.port = server.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials([self._tls])
            self.port = server.add_secure_port(address, credentials)
        await server.start()
        http = await self._start_side_port()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await http.cleanup()
            await server.stop(grace=None)

    async def _start_side_port(self) -> web.AppRunner:
        """/readyz like the real side port: 200 while SERVING, else 503."""

        async def readyz(_: web.Request) -> web.Response:
            if self.serving:
                return web.Response(text="SERVING\n")
            return web.Response(status=503, text="NOT_SERVING\n")

        app = web.Application()
        app.router.add_get("/readyz", readyz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.http_port = int(runner.addresses[0][1])  # the real port of port 0
        return runner
