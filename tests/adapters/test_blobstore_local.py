"""What only the local folder store promises: files stay inside it, URIs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.blobstore.local import LocalBlobStore
from core.errors import InvalidArgument


async def test_parts_are_staged_in_a_hidden_folder_then_cleaned_up(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    handle = await store.start_multipart("audio/a")
    part = await store.upload_part("audio/a", handle, 1, b"abc")
    assert [p.name for p in (tmp_path / ".staging" / handle).iterdir()] == ["part-000001"]

    await store.complete_multipart("audio/a", handle, [part])

    assert (tmp_path / "audio" / "a").read_bytes() == b"abc"
    assert list((tmp_path / ".staging").iterdir()) == []


async def test_hidden_keys_and_forged_handles_are_rejected(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(InvalidArgument):
        await store.put(".staging/x", b"x")
    with pytest.raises(InvalidArgument):
        await store.upload_part("audio/a", "../../etc", 1, b"x")


async def test_a_part_changed_behind_the_token_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    handle = await store.start_multipart("audio/a")
    stale = await store.upload_part("audio/a", handle, 1, b"old")
    await store.upload_part("audio/a", handle, 1, b"new")

    with pytest.raises(InvalidArgument):
        await store.complete_multipart("audio/a", handle, [stale])
    assert not (tmp_path / "audio" / "a").exists()


async def test_import_uri_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(b"server file")
    store = LocalBlobStore(tmp_path / "blobs")
    for uri in (f"file://{tmp_path}/secret", "s3://bucket/key"):
        with pytest.raises(InvalidArgument):
            await store.import_uri(uri, "audio/imported")
    assert await store.presign_get("audio/imported") is None
