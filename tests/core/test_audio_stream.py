"""The incremental decoder (core/audio_stream.py) on real speech in every streamable format.

The committed sample (espeak-ng speech) is encoded into each container, fed in small pieces,
and the samples that come out are compared with a whole-file decode of the same bytes
(core/audio.decode_pcm): the same audio, only earlier.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from core.audio import decode_pcm
from core.audio_stream import StreamDecoder
from core.errors import AudioError
from tests.support.audio_formats import FORMATS, RATE, encode, sample_speech

SECONDS = 12.0


def speech() -> npt.NDArray[np.float32]:
    return sample_speech(SECONDS)


async def decode_in_pieces(data: bytes, piece: int = 700) -> npt.NDArray[np.float32]:
    """Feed ``data`` a few hundred bytes at a time while reading blocks, like a live job."""
    async with StreamDecoder() as decoder:
        blocks: list[npt.NDArray[np.float32]] = []

        async def read() -> None:
            async for block in decoder.blocks():
                blocks.append(block)

        reader = asyncio.create_task(read())
        for i in range(0, len(data), piece):
            decoder.feed(data[i : i + piece])
            await asyncio.sleep(0)
        decoder.close()
        await reader
        assert decoder.duration == pytest.approx(sum(len(b) for b in blocks) / RATE)
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


@pytest.mark.parametrize("kind", sorted(FORMATS))
async def test_pieces_decode_to_what_the_whole_file_does(kind: str, tmp_path: Path) -> None:
    data = encode(speech(), kind)
    whole_file = tmp_path / f"speech.{kind}"
    whole_file.write_bytes(data)
    whole = decode_pcm(whole_file)
    streamed = await decode_in_pieces(data)
    assert len(whole) > (SECONDS - 0.5) * RATE
    # Same decoder, same resampler: the same samples. An MP3 read as a stream keeps up to a
    # frame of the encoder's padding at its end (FFmpeg trims it only when it can seek).
    assert abs(len(streamed) - len(whole)) <= RATE // 20
    n = min(len(streamed), len(whole))
    assert np.max(np.abs(streamed[:n] - whole[:n])) < 1e-3


async def test_samples_come_out_before_the_input_ends() -> None:
    data = encode(speech(), "ogg")
    async with StreamDecoder() as decoder:
        decoder.feed(data[: len(data) // 2])
        blocks = decoder.blocks()
        first = await asyncio.wait_for(anext(blocks), timeout=30)
        assert len(first) > 0
        # Half the bytes hold about half the audio; the decoder does not wait for the rest.
        for _ in range(200):
            if decoder.duration >= SECONDS / 4:
                break
            await anext(blocks)
        assert SECONDS / 4 <= decoder.duration <= SECONDS * 0.75
        decoder.feed(data[len(data) // 2 :])
        decoder.close()
        async for _ in blocks:
            pass
        assert decoder.duration == pytest.approx(SECONDS, abs=0.1)
        assert decoder.format == "ogg"


async def collect(decoder: StreamDecoder) -> None:
    async for _ in decoder.blocks():
        pass


async def test_bytes_that_are_not_audio_are_unsupported() -> None:
    async with StreamDecoder() as decoder:
        decoder.feed(b"%PDF-1.7\n" + bytes(range(256)) * 40)
        decoder.close()
        with pytest.raises(AudioError) as caught:
            await collect(decoder)
    assert caught.value.reason == "UNSUPPORTED_AUDIO"


async def test_mp4_cannot_stream_and_says_so(tmp_path: Path) -> None:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    async with StreamDecoder() as decoder:
        decoder.feed(out.getvalue())
        decoder.close()
        with pytest.raises(AudioError, match="cannot be decoded while it arrives") as caught:
            await collect(decoder)
    assert caught.value.reason == "UNSUPPORTED_AUDIO"


async def test_closing_early_stops_the_decoder_thread() -> None:
    decoder = StreamDecoder()
    try:
        decoder.feed(encode(speech(), "mp3")[:12000])
        blocks = decoder.blocks()
        await asyncio.wait_for(anext(blocks), timeout=30)
    finally:
        # The input never ends; aclose must still free the thread waiting for more bytes.
        await asyncio.wait_for(decoder.aclose(), timeout=30)
