"""A small encoder of the AWS event stream framing (application/vnd.amazon.eventstream).

A message is: total length (4 bytes), headers length (4), CRC32 of those 8 bytes, headers,
payload, CRC32 of everything before it. Headers here are all strings (type 7): a name length
(1 byte), the name, the type, a value length (2 bytes), the value. botocore's
``botocore/eventstream.py`` is the decoder this must satisfy.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any


def _headers(headers: dict[str, str]) -> bytes:
    out = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack("!B", len(raw_name)) + raw_name
        out += struct.pack("!BH", 7, len(raw_value)) + raw_value
    return out


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event stream message."""
    head = _headers(headers)
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack("!II", total, len(head))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack("!I", zlib.crc32(body))


def event(event_type: str, body: dict[str, Any]) -> bytes:
    """An event such as ``contentBlockDelta`` with a JSON payload."""
    return frame(
        {
            ":event-type": event_type,
            ":content-type": "application/json",
            ":message-type": "event",
        },
        json.dumps(body).encode(),
    )


def exception(exception_type: str, message: str) -> bytes:
    """An in-stream error such as ``throttlingException``."""
    return frame(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )
