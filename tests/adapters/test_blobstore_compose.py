"""BlobStore.compose and ranged reads, the two operations a live upload relies on, for the
local folder and for S3 (SeaweedFS): small objects joined into one, past S3's 5 MiB part
minimum, in bounded memory."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pytest

from core.blobstore.base import BlobStore
from core.blobstore.local import LocalBlobStore
from core.errors import InvalidArgument, NotFound

MIB = 1 << 20


async def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.iter_bytes(key)])


async def put_segments(store: BlobStore, prefix: str, data: bytes, rng: random.Random) -> list[str]:
    """``data`` as small objects of irregular sizes (a live upload's chunks)."""
    keys: list[str] = []
    offset = 0
    while offset < len(data):
        size = rng.randint(1, 300_000)
        key = f"{prefix}/{len(keys) + 1:08d}-t"
        await store.put(key, data[offset : offset + size])
        keys.append(key)
        offset += size
    return keys


async def test_compose_joins_small_objects_past_the_s3_part_minimum(blob_store: BlobStore) -> None:
    rng = random.Random(7)
    data = rng.randbytes(11 * MIB + 4321)  # three S3 parts: 5 MiB, 5 MiB and the rest
    keys = await put_segments(blob_store, "live/job-a", data, rng)
    assert len(keys) > 20

    size = await blob_store.compose(keys, "audio/job-a")

    assert size == len(data)
    assert await blob_store.size("audio/job-a") == len(data)
    assert await read_all(blob_store, "audio/job-a") == data
    # The sources stay until the caller deletes them.
    assert await read_all(blob_store, keys[0]) == data[: await blob_store.size(keys[0])]


async def test_compose_of_one_small_object_and_of_none(blob_store: BlobStore) -> None:
    await blob_store.put("live/job-b/00000001-t", b"just a little")
    assert await blob_store.compose(["live/job-b/00000001-t"], "audio/job-b") == 13
    assert await read_all(blob_store, "audio/job-b") == b"just a little"

    assert await blob_store.compose([], "audio/job-c") == 0
    assert await blob_store.size("audio/job-c") == 0


async def test_compose_with_a_missing_source_is_not_found_and_makes_nothing(
    blob_store: BlobStore,
) -> None:
    await blob_store.put("live/job-d/00000001-t", b"first")
    with pytest.raises(NotFound):
        await blob_store.compose(["live/job-d/00000001-t", "live/job-d/00000002-t"], "audio/job-d")
    with pytest.raises(NotFound):
        await blob_store.size("audio/job-d")


async def _compose_peak(store: BlobStore, name: str, size: int) -> int:
    rng = random.Random(size)
    keys = await put_segments(store, f"live/{name}", rng.randbytes(size), rng)
    tracemalloc.start()
    try:
        assert await store.compose(keys, f"audio/{name}") == size
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


async def test_compose_memory_does_not_grow_with_the_sources(blob_store: BlobStore) -> None:
    small = await _compose_peak(blob_store, "small", 12 * MIB)
    large = await _compose_peak(blob_store, "large", 36 * MIB)
    # One part being assembled and sent at most: three times the audio, not three times
    # the memory.
    assert large < small * 1.5 + MIB, (small, large)
    assert large < 36 * MIB * 0.75, large


async def test_ranged_reads(blob_store: BlobStore) -> None:
    data = bytes(range(256)) * 40
    await blob_store.put("audio/ranges", data)

    assert await blob_store.read("audio/ranges", 0, 10) == data[:10]
    assert await blob_store.read("audio/ranges", 1000, 500) == data[1000:1500]
    assert await blob_store.read("audio/ranges", len(data) - 3, 100) == data[-3:]
    assert await blob_store.read("audio/ranges", len(data), 100) == b""
    with pytest.raises(NotFound):
        await blob_store.read("audio/missing", 0, 10)


async def test_local_delete_takes_a_jobs_empty_segment_folder_along(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.put("live/job-f/00000001-t", b"one")
    await store.put("live/job-f/00000002-t", b"two")
    await store.delete("live/job-f/00000001-t")
    assert (tmp_path / "blobs" / "live" / "job-f").is_dir()
    await store.delete("live/job-f/00000002-t")
    assert not (tmp_path / "blobs" / "live" / "job-f").exists()
    # Top-level folders stay: another upload may be writing into them.
    await store.put("audio/x", b"x")
    await store.delete("audio/x")
    assert (tmp_path / "blobs" / "audio").is_dir()


async def test_delete_folder_takes_everything_under_it_and_nothing_beside_it(
    blob_store: BlobStore,
) -> None:
    rng = random.Random(11)
    keys = await put_segments(blob_store, "live/job-d", rng.randbytes(2 * MIB), rng)
    await blob_store.put("live/job-d/00000099-died-before-commit", b"named by no row")
    # Neighbours whose names start alike: a prefix match without the slash would take them.
    await blob_store.put("live/job-dd/00000001-t", b"another job's")
    await blob_store.put("live/job-d.wav", b"not in the folder")

    await blob_store.delete_folder("live/job-d")

    for key in [*keys, "live/job-d/00000099-died-before-commit"]:
        with pytest.raises(NotFound):
            await blob_store.size(key)
    assert await blob_store.size("live/job-dd/00000001-t") == len(b"another job's")
    assert await blob_store.size("live/job-d.wav") == len(b"not in the folder")
    await blob_store.delete_folder("live/job-d")  # already gone: nothing to do
    await blob_store.delete_folder("live/never-was")


async def test_delete_folder_pages_past_one_listing(blob_store: BlobStore) -> None:
    # S3 lists at most 1,000 keys at a time.
    for n in range(1, 1203):
        await blob_store.put(f"live/job-e/{n:08d}-t", b"x")
    await blob_store.delete_folder("live/job-e")
    for n in (1, 1000, 1001, 1202):
        with pytest.raises(NotFound):
            await blob_store.size(f"live/job-e/{n:08d}-t")


def test_delete_folder_refuses_a_folder_outside_the_store(tmp_path: Path) -> None:
    import asyncio

    store = LocalBlobStore(tmp_path / "blobs")
    (tmp_path / "outside").mkdir()
    with pytest.raises(InvalidArgument):
        asyncio.run(store.delete_folder("../outside"))
    assert (tmp_path / "outside").is_dir()
