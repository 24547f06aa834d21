"""core/byte_pipe.py: the file object FFmpeg reads a growing upload from."""

from __future__ import annotations

import threading

import pytest

from core.byte_pipe import BytePipe


def test_reads_drain_in_order_then_end_after_close() -> None:
    pipe = BytePipe()
    pipe.feed(b"abc")
    pipe.feed(b"defg")
    assert pipe.buffered == 7
    assert pipe.read(2) == b"ab"
    assert pipe.read(4) == b"cdef"  # across two fed chunks
    pipe.close()
    assert pipe.read() == b"g"
    assert pipe.buffered == 0
    assert pipe.read() == b""
    assert pipe.read(10) == b""


def test_a_read_waits_for_bytes_fed_from_another_thread() -> None:
    pipe = BytePipe()
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read(100)))
    reader.start()
    reader.join(0.05)
    assert reader.is_alive()  # nothing fed yet: still waiting
    pipe.feed(b"late")
    reader.join(5)
    assert not reader.is_alive() and got == [b"late"]


def test_feeding_after_close_is_a_bug_and_after_abort_is_dropped() -> None:
    closed = BytePipe()
    closed.close()
    with pytest.raises(ValueError, match="feed after close"):
        closed.feed(b"x")
    aborted = BytePipe()
    aborted.feed(b"kept?")
    aborted.abort()
    aborted.feed(b"dropped")
    assert aborted.buffered == 0
    assert aborted.read() == b""


def test_wait_below_returns_once_the_reader_catches_up_or_the_pipe_aborts() -> None:
    pipe = BytePipe()
    pipe.feed(b"x" * 10)
    feeder = threading.Thread(target=pipe.wait_below, args=(4,))
    feeder.start()
    assert pipe.read(3) == b"xxx"  # 7 left: the feeder still waits
    feeder.join(0.05)
    assert feeder.is_alive()
    assert pipe.read(3) == b"xxx"  # 4 left: at the limit, it goes on
    feeder.join(5)
    assert not feeder.is_alive()

    stuck = threading.Thread(target=pipe.wait_below, args=(0,))
    stuck.start()
    pipe.abort()
    stuck.join(5)
    assert not stuck.is_alive()
