"""Parts gathered from a stream's chunks (server/upload_parts.py) hold exactly the stream's
bytes, in order, every part but the last exactly part_size, without joining the chunks."""

from __future__ import annotations

import random

from server.upload_parts import Gathered


def test_parts_cut_chunks_at_the_part_size_and_keep_every_byte_in_order() -> None:
    rng = random.Random(3)
    stream = [rng.randbytes(rng.randint(1, 23)) for _ in range(200)]
    gathered = Gathered(part_size=64)
    parts: list[bytes] = []
    for chunk in stream:
        gathered.add(chunk)
        parts += [b"".join(pieces) for pieces in gathered.parts()]
        assert gathered.held < 64
    rest = b"".join(gathered.take_rest())
    assert all(len(part) == 64 for part in parts)
    assert b"".join(parts) + rest == b"".join(stream)
    assert gathered.held == 0 and gathered.take_rest() == []


def test_a_chunk_larger_than_several_parts_is_cut_by_views() -> None:
    gathered = Gathered(part_size=4)
    gathered.add(b"abcdefghij")
    pieces = list(gathered.parts())
    assert [b"".join(p) for p in pieces] == [b"abcd", b"efgh"]
    assert all(isinstance(piece, memoryview) for p in pieces for piece in p)  # no copies
    assert b"".join(gathered.take_rest()) == b"ij"
