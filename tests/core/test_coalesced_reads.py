"""Reads coalesced by id (core/db/coalesced_reads.py): a lone call goes out at once, calls
that arrive while a statement runs share the next one, and every caller gets its own row,
the statement's failure, or nothing when it gave up."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

from core.db.coalesced_reads import CoalescedReads


@dataclass(frozen=True)
class Row:
    id: str
    value: str


class Table:
    """Rows by id, with a gate that holds each statement until the test opens it."""

    def __init__(self, *ids: str) -> None:
        self.rows = {row_id: Row(row_id, row_id.upper()) for row_id in ids}
        self.statements: list[list[str]] = []
        self.gate = asyncio.Event()
        self.failures: list[Exception] = []

    async def fetch(self, ids: list[str]) -> list[Row]:
        self.statements.append(ids)
        await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        return [self.rows[i] for i in ids if i in self.rows]


async def started(table: Table, count: int) -> None:
    """Until ``count`` statements have begun (bounded: they begin on the next turns)."""
    for _ in range(100):
        if len(table.statements) >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{len(table.statements)} statements began, not {count}")


async def test_a_lone_call_goes_out_at_once_and_gets_its_row() -> None:
    table = Table("a")
    table.gate.set()
    reads = CoalescedReads(table.fetch, in_flight=1)

    assert await reads.get("a") == Row("a", "A")
    assert await reads.get("missing") is None
    assert table.statements == [["a"], ["missing"]]


async def test_calls_that_arrive_during_a_statement_share_the_next_one() -> None:
    table = Table("a", "b", "c")
    reads = CoalescedReads(table.fetch, in_flight=1)
    first = asyncio.ensure_future(reads.get("a"))
    await started(table, 1)
    later = [asyncio.ensure_future(reads.get(i)) for i in ("b", "a", "c", "b", "missing")]
    await asyncio.sleep(0)
    assert len(table.statements) == 1  # the others wait for the running one

    table.gate.set()
    results = await asyncio.gather(first, *later)

    assert [r.id if r else None for r in results] == ["a", "b", "a", "c", "b", None]
    assert table.statements == [["a"], ["b", "a", "c", "missing"]]  # each id asked once
    assert reads.statements == 2


async def test_in_flight_statements_run_side_by_side_and_most_bounds_a_statement() -> None:
    table = Table(*"abcdef")
    reads = CoalescedReads(table.fetch, in_flight=2, most=2)
    calls = [asyncio.ensure_future(reads.get(i)) for i in "abcdef"]
    await started(table, 2)
    assert table.statements == [["a"], ["b"]]  # two at once, each call alone
    table.gate.set()

    assert [r.id if r else None for r in await asyncio.gather(*calls)] == list("abcdef")
    assert all(len(ids) <= 2 for ids in table.statements)
    assert sorted(i for ids in table.statements for i in ids) == list("abcdef")


async def test_a_failed_statement_fails_each_of_its_callers_and_the_next_one_runs() -> None:
    table = Table("a", "b")
    table.failures.append(ConnectionError("the database went away"))
    reads = CoalescedReads(table.fetch, in_flight=1)
    first = asyncio.ensure_future(reads.get("a"))
    await started(table, 1)
    second = asyncio.ensure_future(reads.get("b"))  # waits for the next statement
    table.gate.set()

    with pytest.raises(ConnectionError):
        await first
    assert await second == Row("b", "B")  # its own statement, which worked
    assert await reads.get("a") == Row("a", "A")


async def test_a_caller_that_gives_up_leaves_the_others_their_rows() -> None:
    table = Table("a", "b")
    reads = CoalescedReads(table.fetch, in_flight=1)
    first = asyncio.ensure_future(reads.get("a"))
    await started(table, 1)
    impatient = asyncio.ensure_future(reads.get("b"))
    patient = asyncio.ensure_future(reads.get("b"))
    await asyncio.sleep(0)
    impatient.cancel()  # its deadline passed
    table.gate.set()

    assert (await first, await patient) == (Row("a", "A"), Row("b", "B"))
    assert impatient.cancelled()


def test_at_shutdown_the_callers_are_cancelled_and_no_statement_starts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = Table("a", "b")
    waiting: list[asyncio.Future[Row | None]] = []

    async def serve_then_stop() -> None:
        reads = CoalescedReads(table.fetch, in_flight=1)
        waiting.append(asyncio.ensure_future(reads.get("a")))
        await started(table, 1)
        waiting.append(asyncio.ensure_future(reads.get("b")))
        await asyncio.sleep(0)
        # Returning with both still waiting: asyncio.run cancels every task, as the server's
        # shutdown does, the statement's among them.

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(serve_then_stop())

    assert table.statements == [["a"]]  # "b" was not read during the shutdown
    assert all(future.cancelled() for future in waiting)
    assert "destroyed but it is pending" not in caplog.text


def test_bounds_are_checked() -> None:
    async def fetch(ids: list[str]) -> list[Row]:
        return []

    with pytest.raises(ValueError):
        CoalescedReads(fetch, in_flight=0)
