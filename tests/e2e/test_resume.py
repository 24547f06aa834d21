"""A broken upload resumes from the committed offset and the stored audio is byte-exact."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb

from core.blobstore.local import LocalBlobStore
from core.settings import Settings
from tests.e2e.audio import wav_bytes
from tests.e2e.deployment import Deployment, start_deployment, uploaded_bytes
from tests.support import eventually

CHUNK = 1 << 20
EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]  # missing from grpc-stubs


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


@dataclass
class Broken:
    """An upload whose client went away while part 2 was being written (held until
    ``released`` is set) and part 3 had arrived behind it."""

    upload_id: str
    data: bytes
    part: int
    released: asyncio.Event


async def break_during_part_2(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Broken:
    # The write is held until the call has ended, so the order cannot depend on the
    # machine's speed.
    blobs = deployment.server.runtime.blobs
    part = blobs.part_size
    data = wav_bytes(min_bytes=part * 3 + CHUNK)
    stub, auth = deployment.stub(), deployment.auth()
    write_part = blobs.upload_part_pieces
    second_part, released = asyncio.Event(), asyncio.Event()

    async def held_write(key: str, handle: str, number: int, pieces: Any) -> Any:
        if number == 2 and not released.is_set():
            second_part.set()
            await released.wait()
        return await write_part(key, handle, number, pieces)

    monkeypatch.setattr(blobs, "upload_part_pieces", held_write)
    received_before = uploaded_bytes()

    async def three_parts() -> AsyncIterator[pb.UploadAudioRequest]:
        yield pb.UploadAudioRequest(config=pb.UploadConfig(declared_size_bytes=len(data)))
        for offset in range(0, part * 3, CHUNK):
            yield pb.UploadAudioRequest(
                chunk=pb.AudioChunk(offset=offset, data=data[offset : offset + CHUNK])
            )
        await asyncio.Event().wait()  # the client stays until it goes away

    call = stub.UploadAudio(three_parts(), metadata=auth)
    first = await call.read()
    assert isinstance(first, pb.UploadAudioResponse), first
    await asyncio.wait_for(second_part.wait(), 60)
    # Part 3 is in: the server now waits for part 2 before it writes part 3.
    await eventually(
        lambda: uploaded_bytes() - received_before >= part * 3, within=60, what="part 3 received"
    )
    call.cancel()
    return Broken(first.status.upload_id, data, part, released)


async def test_the_part_on_its_way_when_the_client_goes_away_is_kept(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Part 2 is still recorded, so the client resumes after it.
    broken = await break_during_part_2(deployment, monkeypatch)
    broken.released.set()
    stub, auth = deployment.stub(), deployment.auth()

    async def committed() -> int:
        status = await stub.GetUploadStatus(
            pb.GetUploadStatusRequest(upload_id=broken.upload_id), metadata=auth
        )
        return status.committed_offset

    await eventually(
        lambda: _equals(committed(), broken.part * 2), within=30, what="part 2 recorded"
    )


async def test_a_resume_at_once_waits_for_the_part_still_being_written(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client resumes while the broken stream's part 2 is still being written: the
    # resume starts after it, rather than sending part 2 again to race the first write for
    # the part's record. The upload then completes with the audio byte for byte.
    broken = await break_during_part_2(deployment, monkeypatch)
    stub, auth = deployment.stub(), deployment.auth()
    outbox: asyncio.Queue[pb.UploadAudioRequest | None] = asyncio.Queue()

    async def requests() -> AsyncIterator[pb.UploadAudioRequest]:
        while (message := await outbox.get()) is not None:
            yield message

    outbox.put_nowait(
        pb.UploadAudioRequest(config=pb.UploadConfig(resume_upload_id=broken.upload_id))
    )
    call = stub.UploadAudio(requests(), metadata=auth)
    await asyncio.sleep(0.5)  # the resume reaches the server, which waits for part 2
    broken.released.set()
    first = await call.read()
    assert isinstance(first, pb.UploadAudioResponse), first
    resume_from = first.status.committed_offset
    assert resume_from == broken.part * 2

    data = broken.data
    for offset in range(resume_from, len(data), CHUNK):
        last = offset + CHUNK >= len(data)
        chunk = pb.AudioChunk(offset=offset, data=data[offset : offset + CHUNK], finish=last)
        outbox.put_nowait(pb.UploadAudioRequest(chunk=chunk))
    outbox.put_nowait(None)
    job = None
    while (response := await call.read()) is not EOF:
        assert isinstance(response, pb.UploadAudioResponse)
        if response.HasField("job"):
            job = response.job
    assert job is not None and job.job_id == broken.upload_id
    assert job.audio_sha256 == hashlib.sha256(data).hexdigest()
    assert job.audio_size_bytes == len(data)


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_a_late_part_of_a_stream_resumed_on_another_server_moves_nothing_back(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client went away while part 2 was being written here, and resumed on another
    # server, which recorded its own part 2 (and could have gone on). This server's part 2,
    # finished late, must not replace that record nor move the offset back.
    broken = await break_during_part_2(deployment, monkeypatch)
    uploads = deployment.server.runtime.uploads
    elsewhere = '[[1, "first"], [2, "written-elsewhere"]]'
    assert await uploads.commit_part(
        broken.upload_id, broken.part * 2, elsewhere, after=broken.part
    )
    commit_part = uploads.commit_part
    answered: asyncio.Queue[bool] = asyncio.Queue()

    async def watched(upload_id: str, offset: int, parts_json: str, *, after: int) -> bool:
        moved = await commit_part(upload_id, offset, parts_json, after=after)
        answered.put_nowait(moved)
        return moved

    monkeypatch.setattr(uploads, "commit_part", watched)
    broken.released.set()
    assert await asyncio.wait_for(answered.get(), 60) is False
    row = await uploads.get(broken.upload_id)
    assert row is not None and row.committed_offset == broken.part * 2
    assert row.parts_json == elsewhere
