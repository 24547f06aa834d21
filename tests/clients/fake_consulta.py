"""A small in-memory TranscriptionService for the client's tests.

It is a fake of our own seam (the gRPC contract), served by a real grpc.aio server on
127.0.0.1 port 0 (tests/clients/fake_server_thread.py), so the client's channel, streams,
metadata and status trailers all run for real. Knobs let a test break an upload or a watch
stream at a chosen point, or make the next call of a method fail with google.rpc details.
Live uploads (UploadConfig.live) are answered by tests/clients/fake_live.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections.abc import AsyncIterator

import grpc
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from google.protobuf import timestamp_pb2

from core.auth import verify_token
from core.errors import Unauthenticated
from tests.clients.fake_data import (
    NOTE_TEXT,
    SECRET,
    SEGMENTS,
    Context,
    Injected,
    StoredJob,
    Upload,
    bad_request,
    error_info,
    retry_info,
    rich_status,
    script_batch_job,
)
from tests.clients.fake_live import LiveScript, live_upload

__all__ = [
    "NOTE_TEXT",
    "SECRET",
    "SEGMENTS",
    "FakeConsulta",
    "Injected",
    "bad_request",
    "error_info",
    "retry_info",
]


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
        # Live uploads (tests/clients/fake_live.py): a word heard per chunk, a final segment
        # every so many words, audio seconds counted at this many bytes a second.
        self.live_scripts: dict[str, LiveScript] = {}
        self.live_words_per_segment = 3
        self.live_bytes_per_second = 32000.0
        self.live_replay_on_resume = True
        # Chunk numbers (1-based) whose events are stored but never sent on the upload
        # stream, as if they were published while the client was between two streams.
        self.live_unsent_chunks: set[int] = set()
        # (offset, size, finish) of every live chunk received, in order.
        self.live_chunks: list[tuple[int, int, bool]] = []
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
        script_batch_job(stored, transcribe=audio is not None, fail=self.fail_jobs)
        return job

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
        resumed = await self._resumed(first.config, subject, context)
        if resumed is not None and resumed.complete:
            # A finished upload answers with its status and its job, as the contract says.
            status = pb.UploadStatus(
                upload_id=resumed.upload_id, committed_offset=len(resumed.data)
            )
            yield pb.UploadAudioResponse(status=status)
            yield pb.UploadAudioResponse(job=self.finished(self.jobs[resumed.job_id]))
            return
        if (resumed.config if resumed is not None else first.config).live:
            async for response in live_upload(
                self, resumed, first.config, subject, request_iterator, context
            ):
                yield response
            return
        upload = resumed or Upload(str(uuid.uuid4()), first.config, subject)
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

    async def _resumed(
        self, config: pb.UploadConfig, subject: str, context: Context
    ) -> Upload | None:
        """The upload a config resumes; None for a new one; NOT_FOUND for another's."""
        if not config.resume_upload_id:
            return None
        upload = self.uploads.get(config.resume_upload_id)
        if upload is None or upload.owner != subject:
            await context.abort(grpc.StatusCode.NOT_FOUND, "No such upload.")
        return upload

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
            complete=upload.complete,
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
