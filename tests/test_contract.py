"""The contract: gen/ is what protos/ generate, and the servicer implements every RPC."""

from __future__ import annotations

import filecmp
from pathlib import Path

from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from protos.generate import generate
from server.service import TranscriptionService

ROOT = Path(__file__).resolve().parents[1]


def _files(folder: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(folder)): p
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_gen_is_not_stale(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh, committed = _files(tmp_path), _files(ROOT / "gen")
    assert sorted(fresh) == sorted(committed), "gen/ has other files than protos/ generate"
    stale = [name for name in fresh if not filecmp.cmp(fresh[name], committed[name], False)]
    assert stale == [], f"gen/ is stale ({stale}): run `make gen` and commit"


def test_servicer_implements_every_rpc() -> None:
    service = pb.DESCRIPTOR.services_by_name["TranscriptionService"]
    missing = [
        m.name
        for m in service.methods
        if getattr(TranscriptionService, m.name)
        is getattr(pb_grpc.TranscriptionServiceServicer, m.name)
    ]
    assert service.methods and missing == []
