"""Issue 10, finding 1: a small file that decodes to hours of audio is refused at once.

A megabyte of FLAC holds hours of silence; the server must refuse audio longer than the
deployment's maximum when it first decodes it (OUT_OF_RANGE, reason AUDIO_TOO_LONG), and
leave no job, no stored audio and no upload record behind.
"""

from __future__ import annotations

import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb
from sqlalchemy import func, select

from core.db.models import UploadRow
from core.errors import NotFound
from core.stored_audio import audio_key
from tests.e2e.audio import silent_flac
from tests.e2e.deployment import Deployment
from tests.e2e.rpc_errors import failure
from tests.e2e.test_bad_input import assert_nothing_left
from tests.e2e.test_pipeline import upload_requests

#: Longer than the default maximum of 4 hours.
FIVE_HOURS = 5 * 3600.0


async def assert_no_upload_rows(deployment: Deployment) -> None:
    async with deployment.server.runtime.store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(UploadRow)) == 0


async def test_default_maximum_is_four_hours(deployment: Deployment) -> None:
    assert deployment.settings.max_audio_seconds == 4 * 3600


async def test_hours_of_silent_flac_are_refused_on_upload(deployment: Deployment) -> None:
    data = silent_flac(FIVE_HOURS)
    assert len(data) < 2 << 20  # small on disk: the size limit alone does not catch it
    upload_ids: list[str] = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for response in deployment.stub().UploadAudio(
            upload_requests(data, pb.UploadConfig()), metadata=deployment.auth(), timeout=60
        ):
            if response.HasField("status"):
                upload_ids.append(response.status.upload_id)
    result = failure(caught.value)
    assert (result.code, result.reason) == (grpc.StatusCode.OUT_OF_RANGE, "AUDIO_TOO_LONG")
    assert "4 h" in result.message and "5 h" in result.message
    await assert_nothing_left(deployment)
    await assert_no_upload_rows(deployment)
    assert upload_ids
    with pytest.raises(NotFound):
        await deployment.server.runtime.blobs.size(audio_key(upload_ids[0]))


async def test_hours_of_silent_flac_are_refused_inline(deployment: Deployment) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await deployment.stub().CreateJob(
            pb.CreateJobRequest(audio_content=silent_flac(FIVE_HOURS)),
            metadata=deployment.auth(),
            timeout=60,
        )
    result = failure(caught.value)
    assert (result.code, result.reason) == (grpc.StatusCode.OUT_OF_RANGE, "AUDIO_TOO_LONG")
    await assert_nothing_left(deployment)
