"""The TranscriptionService servicer: each RPC checks its request and delegates.

Errors are raised as ``core.errors`` exceptions; ``server/interceptors.py`` turns them into
status codes. The caller is ``current_principal()``, set by the auth interceptor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from core.codec import STATE_FROM_PB, job_to_pb, summary_wire, transcript_wire
from core.db.upload_store import segment_folder
from core.errors import ConsultaError, FieldViolation, InvalidArgument
from core.language import guess_language
from core.live_finish import discard_live_upload
from core.runtime import Runtime
from core.stored_audio import audio_key, check_stored_audio
from core.transcript_text import parse_transcript_text
from server import governance
from server.audio_uri import check_audio_uri
from server.interceptors import current_principal
from server.jobs import create_job, new_job_id
from server.stream_drain import drain_briefly
from server.upload_limits import UploadLimits
from server.uploads import UploadHandler, upload_status
from server.validation import (
    MAX_AUDIO_URI,
    MAX_MIME_TYPE,
    MAX_PAGE_TOKEN,
    job_config_violations,
    length_violations,
    raise_if,
    require_id,
)
from server.watch import watch_job

Context = grpc.aio.ServicerContext[Any, Any]

MAX_INLINE_AUDIO = 3 << 20
MAX_TRANSCRIPT_TEXT = 1 << 20


class TranscriptionService(pb_grpc.TranscriptionServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.upload_limits = UploadLimits(runtime)

    async def UploadAudio(
        self, request_iterator: AsyncIterator[pb.UploadAudioRequest], context: Context
    ) -> AsyncIterator[pb.UploadAudioResponse]:
        handler = UploadHandler(self.rt, current_principal(), self.upload_limits)
        try:
            async for response in handler.run(request_iterator):
                yield response
        except ConsultaError:
            await drain_briefly(request_iterator)
            raise

    async def GetUploadStatus(
        self, request: pb.GetUploadStatusRequest, context: Context
    ) -> pb.GetUploadStatusResponse:
        upload_id = require_id(request.upload_id, "upload_id")
        return await upload_status(self.rt, current_principal(), upload_id)

    async def CreateJob(
        self, request: pb.CreateJobRequest, context: Context
    ) -> pb.CreateJobResponse:
        principal = current_principal()
        raise_if(
            job_config_violations(request.config, self.rt.settings, "config")
            + length_violations(request.mime_type, "mime_type", MAX_MIME_TYPE)
            + length_violations(request.audio_uri, "audio_uri", MAX_AUDIO_URI)
        )
        if request.config.idempotency_key:
            existing = await self.rt.store.find_by_idempotency_key(
                principal, request.config.idempotency_key
            )
            if existing is not None:
                return pb.CreateJobResponse(job=job_to_pb(existing))
        source = request.WhichOneof("source")
        if source == "transcript_text":
            text = request.transcript_text
            if len(text.encode()) > MAX_TRANSCRIPT_TEXT:
                raise InvalidArgument(
                    "transcript_text holds at most 1 MiB.",
                    reason="TRANSCRIPT_TOO_LARGE",
                    violations=(FieldViolation("transcript_text", "At most 1 MiB of UTF-8."),),
                )
            language = request.config.language_code or guess_language(text)
            transcript = parse_transcript_text(text, language=language)
            job, _ = await create_job(self.rt, principal, request.config, transcript=transcript)
            return pb.CreateJobResponse(job=job)
        job_id = new_job_id()
        key = audio_key(job_id)
        if source == "audio_content":
            if len(request.audio_content) > MAX_INLINE_AUDIO:
                raise InvalidArgument(
                    "audio_content holds at most 3 MiB; use UploadAudio for larger files.",
                    reason="INLINE_AUDIO_TOO_LARGE",
                    violations=(FieldViolation("audio_content", "At most 3 MiB."),),
                )
            if not request.audio_content:
                raise InvalidArgument(
                    "The audio is empty (0 bytes).",
                    reason="EMPTY_AUDIO",
                    violations=(FieldViolation("audio_content", "Must not be empty."),),
                )
            await self.rt.blobs.put(key, request.audio_content)
        elif source == "audio_uri":
            check_audio_uri(request.audio_uri, self.rt.settings)
            await self.rt.blobs.import_uri(request.audio_uri, key)
        else:
            raise InvalidArgument(
                "Say where the consultation comes from: audio_uri, audio_content or "
                "transcript_text.",
                reason="MISSING_SOURCE",
                violations=(FieldViolation("source", "One of the three is required."),),
            )
        try:
            checked = await check_stored_audio(
                self.rt.blobs, key, max_seconds=self.rt.settings.max_audio_seconds
            )
            job, created = await create_job(
                self.rt, principal, request.config, job_id=job_id, audio=checked
            )
        except BaseException:
            await self.rt.blobs.delete(key)
            raise
        if not created:
            await self.rt.blobs.delete(key)
        return pb.CreateJobResponse(job=job)

    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.GetJobResponse:
        row = await self.rt.store.get_visible(
            require_id(request.job_id, "job_id"), current_principal()
        )
        job = job_to_pb(row)
        if request.include_audio_url and row.audio_key:
            job.audio_download_url = await self.rt.blobs.presign_get(row.audio_key) or ""
        return pb.GetJobResponse(job=job)

    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        raise_if(length_violations(request.page_token, "page_token", MAX_PAGE_TOKEN))
        if not 0 <= request.page_size <= 100:
            raise InvalidArgument(
                "page_size must be from 1 to 100 (0 means 20).",
                reason="MALFORMED_FIELD",
                violations=(FieldViolation("page_size", "From 1 to 100."),),
            )
        states = []
        for value in request.states:
            if value not in STATE_FROM_PB:
                raise InvalidArgument(
                    f"Unknown job state {value}.",
                    reason="MALFORMED_FIELD",
                    violations=(FieldViolation("states", f"Unknown state {value}."),),
                )
            states.append(STATE_FROM_PB[value])
        rows, token = await self.rt.store.list_visible(
            current_principal(),
            states=states,
            limit=request.page_size or 20,
            page_token=request.page_token,
        )
        return pb.ListJobsResponse(jobs=[job_to_pb(r) for r in rows], next_page_token=token)

    async def GetTranscript(
        self, request: pb.GetTranscriptRequest, context: Context
    ) -> pb.GetTranscriptResponse:
        wire = await self.rt.store.visible_result(
            "transcript", require_id(request.job_id, "job_id"), current_principal(), transcript_wire
        )
        response = pb.GetTranscriptResponse()
        response.transcript.MergeFromString(wire)
        return response

    async def GetSummary(
        self, request: pb.GetSummaryRequest, context: Context
    ) -> pb.GetSummaryResponse:
        wire = await self.rt.store.visible_result(
            "summary", require_id(request.job_id, "job_id"), current_principal(), summary_wire
        )
        response = pb.GetSummaryResponse()
        response.summary.MergeFromString(wire)
        return response

    async def WatchJob(
        self, request: pb.WatchJobRequest, context: Context
    ) -> AsyncIterator[pb.WatchJobResponse]:
        async for response in watch_job(
            self.rt,
            current_principal(),
            require_id(request.job_id, "job_id"),
            request.after_sequence,
        ):
            yield response

    async def CancelJob(
        self, request: pb.CancelJobRequest, context: Context
    ) -> pb.CancelJobResponse:
        principal = current_principal()
        job_id = require_id(request.job_id, "job_id")
        recorded = await self.rt.store.cancel(job_id, principal, "Cancelled by its owner.")
        await self.rt.publish_events(recorded)
        # A live upload still receiving ends: its stream fails, its segments go.
        await discard_live_upload(self.rt, job_id)
        return pb.CancelJobResponse(
            job=job_to_pb(await self.rt.store.get_visible(job_id, principal))
        )

    async def DeleteJob(
        self, request: pb.DeleteJobRequest, context: Context
    ) -> pb.DeleteJobResponse:
        principal = current_principal()
        job_id = require_id(request.job_id, "job_id")
        recorded = await self.rt.store.cancel(job_id, principal, "Deleted by its owner.")
        await self.rt.publish_events(recorded)
        row = await self.rt.store.get_visible(job_id, principal)
        await discard_live_upload(self.rt, job_id)
        # Audio first: if the rows' erase then fails, a retry finds the job and finishes;
        # the other order could leave audio that no row names any more.
        if row.audio_key:
            await self.rt.blobs.delete(row.audio_key)
        # A live segment a stream stored but died before committing: no row names it.
        await self.rt.blobs.delete_folder(segment_folder(job_id))
        await self.rt.store.erase(job_id)
        response = pb.DeleteJobResponse()
        response.delete_time.GetCurrentTime()
        return response

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: Context
    ) -> pb.ListAuditEventsResponse:
        return await governance.list_audit_events(self.rt, current_principal(), request)

    async def GetRetentionPolicy(
        self, request: pb.GetRetentionPolicyRequest, context: Context
    ) -> pb.GetRetentionPolicyResponse:
        policy = await governance.retention_policy(self.rt, current_principal().tenant)
        return pb.GetRetentionPolicyResponse(policy=policy)

    async def SetRetentionPolicy(
        self, request: pb.SetRetentionPolicyRequest, context: Context
    ) -> pb.SetRetentionPolicyResponse:
        return await governance.set_retention_policy(self.rt, current_principal(), request)
