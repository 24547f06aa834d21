"""What only the S3 store promises: encryption on every write, server-side import, presigned
downloads, bucket creation only when asked, settings and credentials from the environment."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.devstack.seaweed import S3Endpoint
from core.blobstore.factory import build_blob_store
from core.blobstore.s3 import S3BlobStore
from core.errors import ConsultaError, InvalidArgument, NotFound, Unavailable
from core.settings import Settings

pytestmark = pytest.mark.stack

BUCKET = "consulta-test"


@pytest.fixture
async def store(s3_endpoint: S3Endpoint) -> AsyncIterator[S3BlobStore]:
    s3 = S3BlobStore(
        bucket=BUCKET,
        prefix=f"t-{uuid.uuid4().hex[:12]}/audio",
        endpoint_url=s3_endpoint.url,
        access_key=s3_endpoint.access_key,
        secret_key=s3_endpoint.secret_key,
        sse="AES256",
        part_size=5 << 20,
        create_bucket=True,
    )
    try:
        yield s3
    finally:
        await s3.aclose()


async def test_every_write_asks_for_server_side_encryption(store: S3BlobStore, raw_s3: Any) -> None:
    await store.put("small", b"x" * 100)
    handle = await store.start_multipart("big")
    part = await store.upload_part("big", handle, 1, b"y" * 1000)
    await store.complete_multipart("big", handle, [part])
    await raw_s3.put_object(Bucket=BUCKET, Key=f"{store.prefix}plain", Body=b"z")
    await store.import_uri(f"s3://{BUCKET}/{store.prefix}plain", "copied")

    for key in ("small", "big", "copied"):
        head = await raw_s3.head_object(Bucket=BUCKET, Key=store.prefix + key)
        assert head["ServerSideEncryption"] == "AES256", key
    assert store.prefix.endswith("/audio/")


async def test_import_uri_copies_server_side(store: S3BlobStore, raw_s3: Any) -> None:
    source = f"caller-{uuid.uuid4().hex}/visit.wav"
    await raw_s3.put_object(Bucket=BUCKET, Key=source, Body=b"RIFF" + b"\0" * 996)

    assert await store.import_uri(f"s3://{BUCKET}/{source}", "audio/job-1") == 1000
    assert await store.size("audio/job-1") == 1000

    with pytest.raises(NotFound):
        await store.import_uri(f"s3://{BUCKET}/no/such/key", "audio/job-2")
    with pytest.raises(NotFound):
        await store.import_uri("s3://no-such-bucket-here/key", "audio/job-2")
    for uri in ("file:///etc/passwd", "https://example.com/a.wav", "s3://bucket-only"):
        with pytest.raises(InvalidArgument):
            await store.import_uri(uri, "audio/job-2")


async def test_presigned_urls_download_the_object(store: S3BlobStore) -> None:
    await store.put("audio/job-1", b"the audio bytes")
    url = await store.presign_get("audio/job-1", expires_seconds=60)
    assert url is not None and url.startswith("http://127.0.0.1:")

    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        assert await response.read() == b"the audio bytes"
        # Tampering with the signed URL fails.
        async with http.get(url.replace("job-1", "job-2")) as forged:
            assert forged.status == 403


async def test_a_missing_bucket_is_not_created_unless_asked(s3_endpoint: S3Endpoint) -> None:
    bucket = f"missing-{uuid.uuid4().hex[:12]}"
    store = S3BlobStore(
        bucket=bucket,
        endpoint_url=s3_endpoint.url,
        access_key=s3_endpoint.access_key,
        secret_key=s3_endpoint.secret_key,
    )
    try:
        with pytest.raises(Unavailable):
            await store.put("a", b"x")
    finally:
        await store.aclose()


async def test_the_factory_builds_it_from_settings_and_the_environment(
    s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    common: dict[str, Any] = {
        "data_dir": tmp_path,
        "blob_url": f"s3://{BUCKET}-factory/{prefix}",
        "s3_endpoint_url": s3_endpoint.url,
        "s3_create_bucket": True,
        "s3_sse": "AES256",
        "s3_part_size_bytes": 6 << 20,
    }
    keys: dict[str, Any] = {"s3_access_key_id": s3_endpoint.access_key}
    keys["s3_secret_access_key"] = s3_endpoint.secret_key
    cases = [
        # Keys in the settings win over the environment (wrong keys there).
        (Settings(**common, **keys), "wrong", "wrong"),
        # No keys in the settings: the standard AWS credential chain, as on an instance.
        (Settings(**common), s3_endpoint.access_key, s3_endpoint.secret_key),
    ]
    for n, (settings, env_key, env_secret) in enumerate(cases):
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", env_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", env_secret)
        store = build_blob_store(settings)
        try:
            assert isinstance(store, S3BlobStore)
            assert store.part_size == 6 << 20
            await store.put(f"audio/{n}", b"hello")
            assert await store.size(f"audio/{n}") == 5
        finally:
            await store.aclose()


def test_settings_that_s3_refuses_are_refused_early() -> None:
    with pytest.raises(ValueError, match="at least"):
        S3BlobStore(bucket="b", part_size=1 << 20)
    with pytest.raises(ValueError, match="s3_sse"):
        S3BlobStore(bucket="b", sse="aws:fancy")


async def test_import_errors_never_carry_the_sdk_text(store: S3BlobStore) -> None:
    # botocore refuses this bucket name before any request, with its own wording.
    for uri in ("s3://Not_A_Valid_Bucket!/key", "s3://no-such-bucket-here/key"):
        with pytest.raises(ConsultaError) as caught:
            await store.import_uri(uri, "audio/job-3")
        text = caught.value.message.lower()
        assert "parameter validation" not in text and "botocore" not in text, text
        assert "invalid bucket name" not in text and "an error occurred" not in text, text
