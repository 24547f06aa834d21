"""Is the start of a live upload audio we can decode as it grows?

Live audio must be in a streamable container (its header first, frames after), so that what
has arrived decodes without the rest. The first bytes are probed with PyAV until one audio
frame decodes; bytes that cannot be audio are refused as soon as that is certain, at the
latest once :data:`PROBE_BYTES` have arrived or the upload ends.
"""

from __future__ import annotations

import io

import av

from core.errors import AudioError

#: Containers a live upload may use, by PyAV's format name (M4A/MP4 is not among them: its
#: index may sit at the end of the file).
STREAMABLE_FORMATS = {"ogg", "matroska", "mp3", "wav", "flac", "aac"}
#: By this many bytes an audio stream has shown a decodable frame (ID3 tags with a picture
#: at the start of an MP3 are the largest header we expect).
PROBE_BYTES = 256 << 10

_REFUSAL = (
    "A live upload must be streamable audio (Ogg/Opus, WebM, MP3, WAV, FLAC or ADTS AAC); "
    "its first bytes are not."
)


def check_head(data: bytes, *, complete: bool) -> bool:
    """True when ``data`` starts streamable audio (a frame decodes); False when more bytes
    are needed to tell. AudioError (UNSUPPORTED_AUDIO) when it is not streamable audio, or
    still cannot be told apart once ``complete`` (no more bytes) or ``PROBE_BYTES`` long.
    """
    sure = complete or len(data) >= PROBE_BYTES
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            name = str(container.format.name).split(",")[0]
            if name not in STREAMABLE_FORMATS:
                raise AudioError(
                    f"{_REFUSAL} ({container.format.long_name} is not taken live.)",
                    reason="UNSUPPORTED_AUDIO",
                )
            if container.streams.audio:
                for _frame in container.decode(container.streams.audio[0]):
                    return True
    except av.error.FFmpegError:
        pass  # not enough bytes yet, or not audio at all
    if sure:
        raise AudioError(_REFUSAL, reason="UNSUPPORTED_AUDIO")
    return False
