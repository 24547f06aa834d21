"""Fixtures for the client's tests: the fake service on a real gRPC server, tokens for it,
and a bounded ``eventually`` poll instead of sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from core.auth import mint_token
from tests.clients.fake_consulta import SECRET, FakeConsulta
from tests.clients.fake_server_thread import ServerThread

T = TypeVar("T")


def eventually(check: Callable[[], T], *, timeout: float = 5.0, interval: float = 0.01) -> T:
    """``check()``'s first truthy result within ``timeout`` seconds; AssertionError after."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(interval)


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI remembers unfinished uploads under $XDG_STATE_HOME: a test's own folder, never
    the developer's (subprocesses inherit it)."""
    folder = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(folder))
    return folder


@pytest.fixture
def fake() -> FakeConsulta:
    return FakeConsulta()


@pytest.fixture
def server(fake: FakeConsulta) -> Iterator[ServerThread]:
    thread = ServerThread(fake)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


@pytest.fixture
def token() -> str:
    return mint_token(SECRET, "dr-house", tenant="clinic")
