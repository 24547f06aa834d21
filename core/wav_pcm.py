"""Uncompressed WAV counted without FFmpeg: its header parsed here, its data read in large
blocks straight into the level figures (core/audio_warnings.LevelStats).

FFmpeg's WAV demuxer hands PCM out in packets of about a tenth of a second (2 KiB at 16 kHz,
16-bit mono), a Python object each: for a long upload that costs more than receiving it. The
samples of PCM need no decoding, so a plain WAV is read here to the figures FFmpeg's decoder
gives: the same samples, the same frames for the level figures (its packet size), the same
refusal of a last packet smaller than one sample block.

Only what is unambiguous is read so (RIFF/WAVE with PCM or float samples of 8, 16, 32 or 64
bits, the data chunk within the first bytes); anything else (RF64, 24-bit, compressed WAV,
odd layouts) gives None and FFmpeg reads it as before. Which codec FFmpeg itself sees is
still checked by the callers (core/audio.probe opens the file with FFmpeg first;
core/stream_probe compares with FFmpeg's reading of the finished file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from core.audio_limits import check_duration
from core.audio_warnings import LevelStats
from core.errors import AudioError

#: Bytes read at once: large, so that Python's cost per block is paid rarely.
READ_BLOCK = 1 << 20
#: Header bytes searched for the data chunk (FFmpeg's own first read of a WAV is 64 KiB).
MAX_HEADER = 64 << 10

_EXTENSIBLE = 0xFFFE
#: (format tag, bits per sample) -> FFmpeg's codec name and the samples' dtype.
_CODECS: dict[tuple[int, int], tuple[str, str]] = {
    (1, 8): ("pcm_u8", "u1"),
    (1, 16): ("pcm_s16le", "<i2"),
    (1, 32): ("pcm_s32le", "<i4"),
    (3, 32): ("pcm_f32le", "<f4"),
    (3, 64): ("pcm_f64le", "<f8"),
}

Read = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class WavLayout:
    """A plain WAV's sample layout, and where its data starts and how long it says it is."""

    codec: str
    dtype: np.dtype[np.generic]
    channels: int
    rate: int
    #: Offset of the first sample byte.
    data_start: int
    #: Bytes the data chunk announces; None when the writer did not know (0 or 0xFFFFFFFF).
    data_size: int | None

    @property
    def block(self) -> int:
        """Bytes of one sample for every channel."""
        return self.dtype.itemsize * self.channels

    @property
    def packet(self) -> int:
        """Bytes of FFmpeg's PCM packet (libavformat's ff_pcm_default_packet_size): the
        power of two of blocks nearest below a tenth of a second."""
        blocks = max(1, self.rate // 10)
        return self.block * (1 << (blocks.bit_length() - 1))


def parse_header(head: bytes) -> WavLayout | None:
    """The layout of a plain PCM WAV whose header (up to its data chunk) is in ``head``;
    None for anything else."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    fmt: tuple[int, int, int, int, int] | None = None
    while pos + 8 <= len(head):
        chunk_id, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        body = pos + 8
        if chunk_id == b"fmt ":
            if fmt is not None or size < 16 or body + size > len(head):
                return None
            fmt = _fmt(head[body : body + size])
            if fmt is None:
                return None
        elif chunk_id == b"data":
            return _layout(fmt, body, size)
        pos = body + size + (size & 1)
    return None


def _fmt(body: bytes) -> tuple[int, int, int, int, int] | None:
    tag = int.from_bytes(body[0:2], "little")
    channels = int.from_bytes(body[2:4], "little")
    rate = int.from_bytes(body[4:8], "little")
    block_align = int.from_bytes(body[12:14], "little")
    bits = int.from_bytes(body[14:16], "little")
    if tag == _EXTENSIBLE:
        if len(body) < 40 or int.from_bytes(body[16:18], "little") < 22:
            return None
        valid_bits = int.from_bytes(body[18:20], "little")
        if valid_bits not in (0, bits):
            return None
        # The sub-format GUID starts with the plain format tag.
        tag = int.from_bytes(body[24:26], "little")
        if body[26:40] != b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71":
            return None
    return tag, channels, rate, block_align, bits


def _layout(fmt: tuple[int, int, int, int, int] | None, start: int, size: int) -> WavLayout | None:
    if fmt is None:
        return None
    tag, channels, rate, block_align, bits = fmt
    codec = _CODECS.get((tag, bits))
    if codec is None or not channels or not rate:
        return None
    dtype = np.dtype(codec[1])
    if block_align != dtype.itemsize * channels:
        return None
    return WavLayout(
        codec=codec[0],
        dtype=dtype,
        channels=channels,
        rate=rate,
        data_start=start,
        data_size=None if size in (0, 0xFFFFFFFF) else size,
    )


def read_header(read: Read) -> tuple[WavLayout | None, bytes]:
    """Read a stream's header through ``read`` (b"" at its end) and parse it: the layout,
    and every byte read (a caller that gets None hands them on to FFmpeg)."""
    head = bytearray()
    while len(head) < MAX_HEADER:
        layout = parse_header(bytes(head))
        if layout is not None and len(head) >= layout.data_start:
            return layout, bytes(head)
        data = read(min(4096, MAX_HEADER - len(head)))
        if not data:
            break
        head += data
    return parse_header(bytes(head)), bytes(head)


def data_after(f: BinaryIO, layout: WavLayout, size: int) -> bool:
    """Whether the file (``size`` bytes, read from ``f`` by seeking) holds a second data chunk
    after the first: FFmpeg reads on into it, this module does not."""
    if layout.data_size is None:
        return False
    pos = layout.data_start + layout.data_size + (layout.data_size & 1)
    while pos + 8 <= size:
        f.seek(pos)
        chunk = f.read(8)
        if chunk[:4] == b"data":
            return True
        pos += 8 + int.from_bytes(chunk[4:8], "little")
        pos += pos & 1
    return False


def count(
    read: Read,
    layout: WavLayout,
    levels: LevelStats,
    *,
    max_seconds: float | None,
    first: bytes = b"",
) -> int:
    """Samples (per channel) of the data read through ``read`` (``first``: data bytes already
    read), adding each to ``levels`` in FFmpeg's frames; CORRUPT_AUDIO when the last packet
    is smaller than one block (FFmpeg's pcm decoder refuses it), AUDIO_TOO_LONG once the
    samples pass ``max_seconds``."""
    block, packet = layout.block, layout.packet
    frame_values = packet // layout.dtype.itemsize
    left = layout.data_size  # bytes the data chunk still holds (None: to the end)
    carry = b""
    total = 0
    pending = first
    while True:
        data = pending or read(READ_BLOCK)
        pending = b""
        if left is not None:
            data = data[:left]
            left -= len(data)
        if not data:
            break
        data = carry + data if carry else data
        whole = len(data) - len(data) % packet
        if whole:
            values = np.frombuffer(data, dtype=layout.dtype, count=whole // layout.dtype.itemsize)
            levels.add_frames(values, [frame_values] * (whole // packet))
            total += whole
            if max_seconds is not None:
                check_duration(total // block / layout.rate, max_seconds)
        carry = data[whole:]
        if left == 0:
            break
    if carry:
        if len(carry) < block:
            raise AudioError(
                "The audio is corrupt: decoding failed partway through.", reason="CORRUPT_AUDIO"
            )
        usable = len(carry) - len(carry) % block
        values = np.frombuffer(carry[:usable], dtype=layout.dtype)
        levels.add_frames(values, [values.size])
        total += usable
    samples = total // block
    if max_seconds is not None:
        check_duration(samples / layout.rate, max_seconds)
    return samples
