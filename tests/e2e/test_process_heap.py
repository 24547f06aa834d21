"""``consulta serve`` freezes its startup heap (core/heap.py; ``consulta worker`` makes the
same call before its first job), so the collector's full passes stop walking it; the
process still serves, and what it makes afterwards is still collected."""

from __future__ import annotations

import asyncio
import gc
import signal
import uuid
import weakref
from pathlib import Path

import grpc
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from core.auth import mint_token
from core.heap import freeze_startup_heap
from tests.e2e.serve_process import log_record, start_serve


async def test_the_server_freezes_its_startup_heap_and_still_serves(tmp_path: Path) -> None:
    secret = "heap-" + uuid.uuid4().hex
    proc = await start_serve(tmp_path / "var", secret)
    try:
        port = int(str((await log_record(proc, "serving gRPC"))["grpc_port"]))
        frozen = await log_record(proc, "startup heap frozen")
        # Modules, descriptors, compiled statements: the bulk of a started server.
        assert int(str(frozen["frozen_objects"])) > 50_000
        auth = (("authorization", f"Bearer {mint_token(secret, 'alice')}"),)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.TranscriptionServiceStub(channel)
            listed = await stub.ListJobs(pb.ListJobsRequest(), metadata=auth, timeout=30)
            assert list(listed.jobs) == []
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_objects_made_after_the_freeze_are_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    before = gc.get_freeze_count()
    try:
        assert freeze_startup_heap() >= before
        collected: list[str] = []
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        weakref.finalize(a, collected.append, "a")
        del a, b
        gc.collect()
        assert collected == ["a"]
    finally:
        gc.unfreeze()  # the test process's own heap goes back as it was
