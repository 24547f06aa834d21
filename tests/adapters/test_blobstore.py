"""The BlobStore contract, for the local folder and for S3 (SeaweedFS)."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from pathlib import Path

import pytest

from core.blobstore.base import BlobStore, Part
from core.errors import InvalidArgument, NotFound

MIB = 1 << 20


async def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.iter_bytes(key)])


async def upload(store: BlobStore, key: str, data: bytes) -> None:
    """Upload ``data`` in ``store.part_size`` parts, the way the server does."""
    handle = await store.start_multipart(key)
    parts: list[Part] = []
    for number, offset in enumerate(range(0, len(data), store.part_size), start=1):
        parts.append(
            await store.upload_part(key, handle, number, data[offset : offset + store.part_size])
        )
    await store.complete_multipart(key, handle, parts)


async def test_multipart_round_trip_of_12_mib(blob_store: BlobStore, tmp_path: Path) -> None:
    data = random.Random(12).randbytes(12 * MIB + 12345)
    await upload(blob_store, "audio/round-trip", data)

    assert await blob_store.size("audio/round-trip") == len(data)
    digest = hashlib.sha256()
    async for chunk in blob_store.iter_bytes("audio/round-trip", chunk_size=MIB):
        assert len(chunk) <= MIB
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()

    copy = tmp_path / "copy"
    assert await blob_store.download_to("audio/round-trip", copy) == len(data)
    assert hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(data).digest()


async def test_a_part_given_as_pieces_is_stored_as_their_join(blob_store: BlobStore) -> None:
    data = random.Random(7).randbytes(blob_store.part_size + 3 * MIB + 5)
    size = blob_store.part_size
    # The server hands a part over as the stream's chunks, the last one split by a view.
    first: list[bytes | memoryview] = [
        data[:MIB],
        data[MIB : size - 7],
        memoryview(data)[size - 7 : size],
    ]
    last: list[bytes | memoryview] = [memoryview(data)[size:], b""]
    handle = await blob_store.start_multipart("audio/pieces")
    parts = [
        await blob_store.upload_part_pieces("audio/pieces", handle, 1, first),
        await blob_store.upload_part_pieces("audio/pieces", handle, 2, last),
    ]
    await blob_store.complete_multipart("audio/pieces", handle, parts)
    assert await read_all(blob_store, "audio/pieces") == data


async def test_writing_a_part_again_replaces_it(blob_store: BlobStore) -> None:
    first = b"A" * blob_store.part_size
    key = "audio/replaced"
    handle = await blob_store.start_multipart(key)
    await blob_store.upload_part(key, handle, 1, b"stale bytes from a broken stream")
    part1 = await blob_store.upload_part(key, handle, 1, first)
    part2 = await blob_store.upload_part(key, handle, 2, b"tail")
    await blob_store.complete_multipart(key, handle, [part1, part2])

    assert await read_all(blob_store, key) == first + b"tail"


async def test_abort_drops_the_parts_and_is_idempotent(blob_store: BlobStore) -> None:
    key = "audio/aborted"
    handle = await blob_store.start_multipart(key)
    part = await blob_store.upload_part(key, handle, 1, b"x" * 1000)
    await blob_store.abort_multipart(key, handle)
    await blob_store.abort_multipart(key, handle)

    with pytest.raises(NotFound):
        await blob_store.complete_multipart(key, handle, [part])
    with pytest.raises(NotFound):
        await blob_store.size(key)


async def test_put_then_delete_is_idempotent(blob_store: BlobStore) -> None:
    await blob_store.put("notes/small", b"hello")
    assert await blob_store.size("notes/small") == 5
    assert await read_all(blob_store, "notes/small") == b"hello"

    await blob_store.delete("notes/small")
    await blob_store.delete("notes/small")

    with pytest.raises(NotFound):
        await blob_store.size("notes/small")


async def test_missing_objects_are_not_found(blob_store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        await blob_store.size("audio/missing")
    with pytest.raises(NotFound):
        await read_all(blob_store, "audio/missing")
    with pytest.raises(NotFound):
        await blob_store.download_to("audio/missing", tmp_path / "out")


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "audio/../../escape", ""])
async def test_keys_that_escape_are_rejected(blob_store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidArgument):
        await blob_store.put(key, b"x")
    with pytest.raises(InvalidArgument):
        await blob_store.start_multipart(key)
    with pytest.raises(InvalidArgument):
        await blob_store.size(key)


async def test_joining_and_reading_do_not_hold_the_object_in_memory(
    blob_store: BlobStore, tmp_path: Path
) -> None:
    part = random.Random(3).randbytes(blob_store.part_size)
    count = -(-24 * MIB // blob_store.part_size)  # at least 24 MiB in all
    handle = await blob_store.start_multipart("audio/big")
    parts = [
        await blob_store.upload_part("audio/big", handle, n, part) for n in range(1, count + 1)
    ]
    del part

    tracemalloc.start()
    try:
        await blob_store.complete_multipart("audio/big", handle, parts)
        size = await blob_store.download_to("audio/big", tmp_path / "big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert size == count * blob_store.part_size
    # A few 1 MiB chunks in flight at most, never the object.
    assert peak < size // 3, f"peak {peak / MIB:.1f} MiB for a {size / MIB:.0f} MiB object"
