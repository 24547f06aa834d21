"""English on the default model, through the product: a batch upload is transcribed by base
(issue 11: it measured better than tiny.en on the eval). That live English stays on tiny.en is
proven in tests/transcribers/test_english_model.py. The rest of the suite pins tiny.en
(tests/conftest.py), so this test removes the pin first."""

from __future__ import annotations

from pathlib import Path

import pytest
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from tests.e2e.audio import wav_bytes
from tests.e2e.conftest import base_settings
from tests.e2e.deployment import start_deployment
from tests.e2e.test_pipeline import upload
from tests.e2e.test_speech import completed_transcript


async def test_english_batch_goes_to_base_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONSULTA_WHISPER_ENGLISH_MODEL", raising=False)
    monkeypatch.delenv("CONSULTA_WHISPER_LIVE_ENGLISH_MODEL", raising=False)
    settings = base_settings(tmp_path)
    assert settings.whisper_english_model == "base"
    running = await start_deployment("embedded", settings)
    try:
        config = pb.UploadConfig(job=job_pb2.JobConfig(language_code="en"))
        job, _ = await upload(running, wav_bytes(seconds=20), config)
        text = await completed_transcript(running, job)
        stub, auth = running.stub(), running.auth()
        got = await stub.GetTranscript(pb.GetTranscriptRequest(job_id=job.job_id), metadata=auth)
        assert got.transcript.engine == "local:faster-whisper-base"
        assert got.transcript.language_code == "en"
        # The sample's first 20 s: "hey, dragon, i'm seeing ms. hill. ... i am having a lot of
        # pain at the end of my right middle finger." (base hears "ms. hill" as "emma still").
        assert "dragon" in text and "pain" in text and "middle finger" in text
    finally:
        await running.stop()
