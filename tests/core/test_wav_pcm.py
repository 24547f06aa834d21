"""Plain WAV read without FFmpeg (core/wav_pcm.py) gives what FFmpeg's decoder gives, for
every layout it takes, and leaves every other layout to FFmpeg."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import core.audio
from core import wav_pcm
from core.audio import AudioInfo, probe
from core.errors import AudioError, OutOfRange
from core.stream_probe import ReceivingProbe

PCM_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def fmt_chunk(tag: int, channels: int, rate: int, bits: int, *, extensible: bool = False) -> bytes:
    block = channels * bits // 8
    body = struct.pack(
        "<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * block, block, bits
    )
    if extensible:
        body += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + PCM_GUID_TAIL
    return b"fmt " + struct.pack("<I", len(body)) + body


def chunk(name: bytes, body: bytes, size: int | None = None) -> bytes:
    pad = b"\x00" if len(body) % 2 else b""
    return name + struct.pack("<I", len(body) if size is None else size) + body + pad


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tone(seconds: float, rate: int, channels: int, dtype: str, gain: float) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    wave = np.sin(2 * np.pi * 440 * t) * gain
    # Speech-like: loud and quiet stretches, so that frame boundaries change the loudest level.
    wave *= np.where((t % 1.0) < 0.3, 1.0, 0.05)
    samples = np.repeat(wave[:, None], channels, axis=1).reshape(-1)
    kind = np.dtype(dtype)
    if kind.kind == "f":
        values: npt.NDArray[np.generic] = samples.astype(kind)
    elif kind.kind == "u":
        values = np.clip(samples * 128 + 128, 0, 255).astype(kind)
    else:
        full = 2 ** (8 * kind.itemsize - 1)
        values = np.clip(samples * full, -full, full - 1).astype(kind)
    return values.tobytes()


def by_decoder(path: Path, monkeypatch: pytest.MonkeyPatch, **kw: float) -> AudioInfo:
    """What FFmpeg's own decoder makes of the file (every frame decoded)."""
    with monkeypatch.context() as m:
        m.setattr(core.audio, "_PCM_SAMPLES", {})
        return probe(path, **kw)


def streamed(path: Path) -> AudioInfo | None:
    data = path.read_bytes()

    async def run() -> AudioInfo | None:
        receiving = ReceivingProbe(max_seconds=4 * 3600.0)
        try:
            for start in range(0, len(data), 48 << 10):
                await receiving.feed(data[start : start + (48 << 10)])
            return await receiving.info(path)
        finally:
            await receiving.aclose()

    return asyncio.run(run())


LAYOUTS = [
    # tag, channels, rate, bits, dtype, gain, extensible
    (1, 1, 16000, 16, "<i2", 0.5, False),
    (1, 2, 44100, 16, "<i2", 0.5, False),
    (1, 1, 8000, 8, "u1", 0.5, False),
    (1, 1, 22050, 32, "<i4", 0.002, False),
    (3, 1, 48000, 32, "<f4", 1.5, False),
    (3, 2, 16000, 64, "<f8", 0.003, False),
    (1, 3, 16000, 16, "<i2", 2.0, False),
    (1, 2, 48000, 16, "<i2", 0.5, True),
    (3, 1, 16000, 32, "<f4", 0.5, True),
]


@pytest.mark.parametrize(("tag", "channels", "rate", "bits", "dtype", "gain", "ext"), LAYOUTS)
def test_a_plain_wav_is_read_to_the_decoders_figures(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tag: int,
    channels: int,
    rate: int,
    bits: int,
    dtype: str,
    gain: float,
    ext: bool,
) -> None:
    data = tone(3.3, rate, channels, dtype, gain)
    path = tmp_path / "a.wav"
    path.write_bytes(
        riff(
            fmt_chunk(tag, channels, rate, bits, extensible=ext),
            chunk(b"LIST", b"INFOISFT\x04\x00\x00\x00abc\x00"),
            chunk(b"data", data),
        )
    )
    assert wav_pcm.parse_header(path.read_bytes()[:4096]) is not None  # read without FFmpeg
    fast = probe(path)
    assert fast == by_decoder(path, monkeypatch)
    assert fast.duration == pytest.approx(3.3, abs=1 / rate)
    assert streamed(path) == fast


def test_a_cut_file_and_an_unknown_length_are_read_as_ffmpeg_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tone(4.0, 16000, 1, "<i2", 0.5)
    header = fmt_chunk(1, 1, 16000, 16)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(riff(header, chunk(b"data", data))[: 44 + 2 * 16000 * 2])
    assert probe(cut) == by_decoder(cut, monkeypatch)
    assert [w.reason for w in probe(cut).warnings] == ["TRUNCATED_AUDIO"]
    unknown = tmp_path / "unknown.wav"
    unknown.write_bytes(riff(header, chunk(b"data", data, size=0xFFFFFFFF)))
    assert probe(unknown) == by_decoder(unknown, monkeypatch)
    assert probe(unknown).duration == pytest.approx(4.0)


def test_chunks_after_the_data_are_not_read_as_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tone(2.0, 16000, 1, "<i2", 0.5)
    path = tmp_path / "tail.wav"
    path.write_bytes(
        riff(
            fmt_chunk(1, 1, 16000, 16),
            chunk(b"data", data),
            chunk(b"LIST", b"INFOICMT" + b"\x10\x00\x00\x00" + b"x" * 16),
        )
    )
    assert probe(path) == by_decoder(path, monkeypatch)
    assert probe(path).duration == pytest.approx(2.0)
    assert streamed(path) == probe(path)


def test_a_second_data_chunk_is_left_to_ffmpeg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = tone(1.0, 16000, 1, "<i2", 0.5)
    path = tmp_path / "two.wav"
    path.write_bytes(riff(fmt_chunk(1, 1, 16000, 16), chunk(b"data", one), chunk(b"data", one)))
    with path.open("rb") as f:
        layout, _ = wav_pcm.read_header(f.read)
        assert layout is not None and wav_pcm.data_after(f, layout, path.stat().st_size)
    # Whatever FFmpeg makes of it, the fast reader does not answer for it.
    assert probe(path) == by_decoder(path, monkeypatch)
    assert streamed(path) in (None, probe(path))


def test_a_last_packet_smaller_than_a_sample_is_corrupt_as_ffmpeg_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3 channels of 16 bits: 6-byte blocks; FFmpeg's packet is 1024 blocks (6144 bytes).
    data = tone(1.0, 16000, 3, "<i2", 0.5)
    whole = 6144 * (len(data) // 6144)
    path = tmp_path / "odd.wav"
    path.write_bytes(riff(fmt_chunk(1, 3, 16000, 16), chunk(b"data", data[: whole + 4])))
    with pytest.raises(AudioError) as fast:
        probe(path)
    with pytest.raises(AudioError) as slow:
        by_decoder(path, monkeypatch)
    assert fast.value.reason == slow.value.reason == "CORRUPT_AUDIO"
    # A last packet of one whole block and a bit keeps the block, as FFmpeg does.
    path.write_bytes(riff(fmt_chunk(1, 3, 16000, 16), chunk(b"data", data[: whole + 8])))
    assert probe(path) == by_decoder(path, monkeypatch)
    assert probe(path).duration == pytest.approx((whole // 6 + 1) / 16000)


def test_too_long_is_refused_with_the_decoders_reason(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(
        riff(
            fmt_chunk(1, 1, 16000, 16),
            chunk(b"data", bytes(2 * 16000 * 90)),
        ).replace(b"data", b"data", 1)
    )
    # The header's size alone refuses it before any sample is read; with an unknown size the
    # samples do.
    unknown = tmp_path / "unknown.wav"
    unknown.write_bytes(
        riff(fmt_chunk(1, 1, 16000, 16), chunk(b"data", bytes(2 * 16000 * 90), size=0xFFFFFFFF))
    )
    for file in (path, unknown):
        with pytest.raises(OutOfRange) as refused:
            probe(file, max_seconds=60.0)
        assert refused.value.reason == "AUDIO_TOO_LONG"


@pytest.mark.parametrize(
    "header",
    [
        fmt_chunk(1, 1, 16000, 24),  # 24-bit
        fmt_chunk(7, 1, 8000, 8),  # mu-law
        fmt_chunk(0x11, 1, 8000, 4),  # IMA ADPCM
        b"",  # no fmt chunk before the data
    ],
    ids=["24-bit", "mu-law", "adpcm", "no-fmt"],
)
def test_other_layouts_are_left_to_ffmpeg(header: bytes) -> None:
    assert wav_pcm.parse_header(riff(header, chunk(b"data", bytes(960)))) is None


def test_rf64_and_non_wav_are_left_to_ffmpeg() -> None:
    wav = riff(fmt_chunk(1, 1, 16000, 16), chunk(b"data", bytes(64)))
    assert wav_pcm.parse_header(wav) is not None
    assert wav_pcm.parse_header(b"RF64" + wav[4:]) is None
    assert wav_pcm.parse_header(b"ID3\x04" + bytes(200)) is None
