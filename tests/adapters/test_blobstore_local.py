"""What only the local folder store promises: files stay inside it, URIs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.blobstore.base import Part
from core.blobstore.local import LocalBlobStore
from core.errors import InvalidArgument


async def test_parts_are_staged_in_a_hidden_folder_then_renamed_into_place(
    tmp_path: Path,
) -> None:
    store = LocalBlobStore(tmp_path, part_size=4)
    handle = await store.start_multipart("audio/a")
    first = await store.upload_part("audio/a", handle, 1, b"abcd")
    last = await store.upload_part("audio/a", handle, 2, b"ef")
    staged = tmp_path / ".staging" / handle
    assert sorted(p.name for p in staged.iterdir()) == ["data", "tokens"]
    assert (staged / "tokens").read_text().split() == ["1", first.token, "2", last.token]
    inode = (staged / "data").stat().st_ino

    await store.complete_multipart("audio/a", handle, [first, last])

    target = tmp_path / "audio" / "a"
    assert target.read_bytes() == b"abcdef"
    assert target.stat().st_ino == inode  # renamed, not copied
    assert store.local_path("audio/a") == target
    assert list((tmp_path / ".staging").iterdir()) == []


async def test_a_short_part_that_is_not_last_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, part_size=4)
    handle = await store.start_multipart("audio/a")
    short = await store.upload_part("audio/a", handle, 1, b"ab")
    last = await store.upload_part("audio/a", handle, 2, b"cd")
    with pytest.raises(InvalidArgument):
        await store.complete_multipart("audio/a", handle, [short, last])
    with pytest.raises(InvalidArgument):
        await store.upload_part("audio/a", handle, 3, b"too long")
    with pytest.raises(InvalidArgument):  # counted over all the pieces
        await store.upload_part_pieces("audio/a", handle, 3, [b"abc", memoryview(b"de")])


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


async def test_a_token_line_cut_short_names_no_part(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, part_size=4)
    handle = await store.start_multipart("audio/a")
    first = await store.upload_part("audio/a", handle, 1, b"abcd")
    second = await store.upload_part("audio/a", handle, 2, b"ef")
    log = tmp_path / ".staging" / handle / "tokens"
    # A crash while part 2's line was being appended: that part was never acknowledged.
    log.write_text(log.read_text()[:-3])
    with pytest.raises(InvalidArgument, match="part 2 was never written"):
        await store.complete_multipart("audio/a", handle, [first, second])
    # The client resumes: part 2 is written again and the upload completes.
    again = await store.upload_part("audio/a", handle, 2, b"ef")
    await store.complete_multipart("audio/a", handle, [first, again])
    assert (tmp_path / "audio" / "a").read_bytes() == b"abcdef"


async def test_a_folder_staged_by_the_earlier_layout_still_completes(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, part_size=4)
    handle = await store.start_multipart("audio/a")
    staged = tmp_path / ".staging" / handle
    (staged / "data").write_bytes(b"abcdef")
    (staged / "tokens").unlink()
    (staged / "part-000001.token").write_text("t1:4")
    (staged / "part-000002.token").write_text("t2:2")
    parts = [Part(number=1, token="t1:4"), Part(number=2, token="t2:2")]
    await store.complete_multipart("audio/a", handle, parts)
    assert (tmp_path / "audio" / "a").read_bytes() == b"abcdef"


async def test_import_uri_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(b"server file")
    store = LocalBlobStore(tmp_path / "blobs")
    for uri in (f"file://{tmp_path}/secret", "s3://bucket/key"):
        with pytest.raises(InvalidArgument):
            await store.import_uri(uri, "audio/imported")
    assert await store.presign_get("audio/imported") is None
