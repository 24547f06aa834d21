"""Between `make bench` steps: the disk's pending writes are flushed and the machine is let
come to rest, so that one step's writeback is not measured in the next.

On 2026-12-02 the relay step, run after the upload step (2.3 GiB written, SeaweedFS's share
without fsync), gave p99 87.2 ms; alone a minute later, 22.68 ms: its PostgreSQL commits had
waited behind the other step's writeback.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

MEMINFO = Path("/proc/meminfo")
#: Dirty plus writeback pages below which the disk counts as quiet.
QUIET_KIB = 16 << 10


def pending_writes_kib(meminfo: str) -> int:
    """Dirty and Writeback pages, in KiB, from the text of /proc/meminfo (0 when absent)."""
    total = 0
    for line in meminfo.splitlines():
        name, _, rest = line.partition(":")
        if name in ("Dirty", "Writeback"):
            total += int(rest.split()[0])
    return total


def settle(*, timeout: float = 30.0, rest: float = 2.0) -> float:
    """Flush the disk's pending writes (bounded by ``timeout`` seconds), then wait ``rest``
    seconds. Returns the seconds it took."""
    started = time.monotonic()
    os.sync()
    while MEMINFO.exists() and time.monotonic() - started < timeout:
        if pending_writes_kib(MEMINFO.read_text()) < QUIET_KIB:
            break
        time.sleep(0.2)
    time.sleep(rest)
    return time.monotonic() - started
