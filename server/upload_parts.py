"""A batch upload's parts as they are gathered from the stream's chunks (server/uploads.py):
handed to the store as the chunks came, never joined on the event loop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Gathered:
    """The chunks of the part being gathered, handed to the store as they came (no join:
    the local store writes them with one vectored write; the last chunk of a part is split
    by a view, not copied)."""

    part_size: int
    chunks: list[bytes | memoryview] = field(default_factory=list)
    held: int = 0

    def add(self, data: bytes) -> None:
        self.chunks.append(data)
        self.held += len(data)

    def parts(self) -> Iterator[list[bytes | memoryview]]:
        """Every whole part gathered, in order, as its pieces."""
        while self.held >= self.part_size:
            part: list[bytes | memoryview] = []
            size = 0
            while size < self.part_size:
                chunk = self.chunks.pop(0)
                room = self.part_size - size
                if len(chunk) > room:
                    view = memoryview(chunk)
                    chunk, rest = view[:room], view[room:]
                    self.chunks.insert(0, rest)
                part.append(chunk)
                size += len(chunk)
            self.held -= size
            yield part

    def take_rest(self) -> list[bytes | memoryview]:
        rest, self.chunks, self.held = self.chunks, [], 0
        return rest


def hash_pieces(digest: Any, pieces: list[bytes | memoryview]) -> None:
    for piece in pieces:
        digest.update(piece)
