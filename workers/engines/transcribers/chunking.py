"""Old home of the chunked transcriber's pieces, kept only so that imports of it still work.

New code imports from where each thing lives:

- the decoder: :func:`core.audio.decode_blocks` (was ``decoded_blocks``), ``SAMPLE_RATE``;
- FLAC encoding: ``flac.py`` (``FlacWriter``, ``encode_flac``);
- cuts at pauses and provider requests: ``splitting.py`` (``plan_cuts``, ``pcm_windows``,
  ``split_audio``, ``Chunk``, ``ChunkPlan``);
- provider text and its times: ``text_timing.py`` (``Piece``, ``spread_sentences``);
- the chunked cloud transcriber: ``chunked.py`` (``ChunkedTranscriber``, ``ChunkResult``,
  ``ChunkEvent``, ``Recording``).

Nothing here imports the cloud engines' settings, so the local engine may use it too. Delete
this module once nothing imports it.
"""

from __future__ import annotations

from core.audio import SAMPLE_RATE
from core.audio import decode_blocks as decoded_blocks
from workers.engines.transcribers.chunked import (
    ChunkedTranscriber,
    ChunkEvent,
    ChunkResult,
    Recording,
)
from workers.engines.transcribers.flac import FlacWriter, encode_flac
from workers.engines.transcribers.splitting import (
    Chunk,
    ChunkPlan,
    pcm_windows,
    plan_cuts,
    split_audio,
)
from workers.engines.transcribers.text_timing import Piece, spread_sentences

__all__ = [
    "SAMPLE_RATE",
    "Chunk",
    "ChunkEvent",
    "ChunkPlan",
    "ChunkResult",
    "ChunkedTranscriber",
    "FlacWriter",
    "Piece",
    "Recording",
    "decoded_blocks",
    "encode_flac",
    "pcm_windows",
    "plan_cuts",
    "split_audio",
    "spread_sentences",
]
