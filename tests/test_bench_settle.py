"""bench/settle.py reads the disk's pending writes from /proc/meminfo's text."""

from __future__ import annotations

from bench.settle import pending_writes_kib

MEMINFO = """MemTotal:       24683520 kB
Dirty:              9216 kB
Writeback:          2048 kB
AnonPages:        812345 kB
WritebackTmp:       4096 kB
"""


def test_dirty_and_writeback_are_summed_and_nothing_else() -> None:
    assert pending_writes_kib(MEMINFO) == 9216 + 2048


def test_no_such_lines_count_as_nothing_pending() -> None:
    assert pending_writes_kib("MemTotal: 1 kB\n") == 0
