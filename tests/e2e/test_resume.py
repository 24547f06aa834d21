"""A broken upload resumes from the committed offset and the stored audio is byte-exact."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb

from core.blobstore.local import LocalBlobStore
from core.settings import Settings
from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment, start_deployment
from tests.support import eventually

CHUNK = 1 << 20


async def test_resume_from_committed_offset(deployment: Deployment) -> None:
    part = deployment.server.runtime.blobs.part_size
    data = wav_bytes(min_bytes=part * 2 + CHUNK * 2)
    digest = hashlib.sha256(data).hexdigest()
    stub, auth = deployment.stub(), deployment.auth()

    async def first_attempt() -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(
            config=pb.UploadConfig(declared_size_bytes=len(data), sha256=digest)
        )
        # Enough for two whole parts and some more, then the "network" breaks.
        for offset in range(0, part * 2 + CHUNK, CHUNK):
            yield pb.UploadAudioRequest(
                chunk=pb.AudioChunk(offset=offset, data=data[offset : offset + CHUNK])
            )

    call = stub.UploadAudio(first_attempt(), metadata=auth)
    upload_id, committed = "", 0
    async for response in call:
        upload_id = response.status.upload_id
        committed = response.status.committed_offset
        if committed >= part * 2:
            call.cancel()
            break
    assert upload_id and committed == part * 2

    status = await stub.GetUploadStatus(
        pb.GetUploadStatusRequest(upload_id=upload_id), metadata=auth
    )
    assert status.committed_offset == committed and not status.complete

    # Someone else cannot resume it.
    async def intruder() -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(config=pb.UploadConfig(resume_upload_id=upload_id))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stub.UploadAudio(intruder(), metadata=deployment.auth("mallory")):
            pass
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    async def second_attempt(start: int) -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(config=pb.UploadConfig(resume_upload_id=upload_id))
        for offset in range(start, len(data), CHUNK):
            piece = data[offset : offset + CHUNK]
            yield pb.UploadAudioRequest(
                chunk=pb.AudioChunk(
                    offset=offset, data=piece, finish=offset + len(piece) >= len(data)
                )
            )

    # The server repeats the committed offset first; the client continues from there.
    responses = [r async for r in stub.UploadAudio(second_attempt(committed), metadata=auth)]
    assert responses[0].status.committed_offset == committed
    job = responses[-1].job
    assert job.job_id == upload_id
    assert job.audio_sha256 == digest and job.audio_size_bytes == len(data)
    await stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id), metadata=auth)

    status = await stub.GetUploadStatus(
        pb.GetUploadStatusRequest(upload_id=upload_id), metadata=auth
    )
    assert status.complete and status.job_id == job.job_id
    # Resuming a finished upload answers with its job instead of starting over.
    again = [r async for r in stub.UploadAudio(second_attempt(len(data)), metadata=auth)]
    assert again[-1].job.job_id == job.job_id
    stored = b"".join(
        [c async for c in deployment.server.runtime.blobs.iter_bytes(f"audio/{job.job_id}")]
    )
    assert hashlib.sha256(stored).hexdigest() == digest


async def test_an_abandoned_upload_expires_and_its_parts_are_deleted(
    kind: str, settings: Settings
) -> None:
    deployment = await start_deployment(
        # Long enough for the first 5 MiB part to reach S3 on a loaded machine before the
        # sweeper may call the upload abandoned (1 s was not).
        kind,
        settings.model_copy(update={"upload_expiry_seconds": 3.0}),
    )
    try:
        stub, auth = deployment.stub(), deployment.auth()
        part = deployment.server.runtime.blobs.part_size
        data = wav_bytes(min_bytes=part + CHUNK)

        async def abandoned() -> AsyncIterator[pb.UploadAudioRequest]:
            yield pb.UploadAudioRequest(config=pb.UploadConfig())
            for offset in range(0, part + CHUNK, CHUNK):
                yield pb.UploadAudioRequest(
                    chunk=pb.AudioChunk(offset=offset, data=data[offset : offset + CHUNK])
                )

        call = stub.UploadAudio(abandoned(), metadata=auth)
        upload_id = ""
        async for response in call:
            upload_id = response.status.upload_id
            if response.status.committed_offset >= part:
                call.cancel()
                break

        async def expired() -> bool:
            try:
                await stub.GetUploadStatus(
                    pb.GetUploadStatusRequest(upload_id=upload_id), metadata=auth
                )
            except grpc.aio.AioRpcError as error:
                return error.code() == grpc.StatusCode.NOT_FOUND
            return False

        await eventually(expired, within=15, what="the abandoned upload expired")
        blobs = deployment.server.runtime.blobs
        if isinstance(blobs, LocalBlobStore):
            # The row goes first (that is how one sweeper claims it), then the parts.
            staging = blobs.root / ".staging"
            await eventually(
                lambda: not any(staging.iterdir()), within=5, what="the parts were deleted"
            )
    finally:
        await deployment.stop()


async def test_the_part_on_its_way_when_a_stream_fails_is_kept(deployment: Deployment) -> None:
    # A part is written while the next bytes arrive; a stream refused meanwhile still
    # records that part, so the client resumes after it rather than sending it again.
    part = deployment.server.runtime.blobs.part_size
    data = wav_bytes(min_bytes=part + CHUNK)
    stub, auth = deployment.stub(), deployment.auth()

    async def out_of_order() -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(config=pb.UploadConfig(declared_size_bytes=len(data)))
        for offset in range(0, part, CHUNK):
            yield pb.UploadAudioRequest(
                chunk=pb.AudioChunk(offset=offset, data=data[offset : offset + CHUNK])
            )
        yield pb.UploadAudioRequest(chunk=pb.AudioChunk(offset=part + CHUNK, data=b"late"))

    upload_id = ""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for response in stub.UploadAudio(out_of_order(), metadata=auth):
            upload_id = upload_id or response.status.upload_id
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = await stub.GetUploadStatus(
        pb.GetUploadStatusRequest(upload_id=upload_id), metadata=auth
    )
    assert status.committed_offset == part and not status.complete
