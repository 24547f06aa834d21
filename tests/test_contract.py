"""The contract: gen/ is what protos/ generate, the servicer implements every RPC, and every
field states its behaviour (google.api.field_behavior, AIP-203) in its annotation and its
comment alike. (That REQUIRED fields are refused when empty: tests/e2e/test_required_fields.py.)
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path

from consulta.v1 import governance_pb2, job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc
from google.api import field_behavior_pb2 as fb
from google.protobuf import descriptor as pbd
from google.protobuf import descriptor_pb2

from protos.generate import generate
from server.service import TranscriptionService

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"


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


# -- field behaviours (AIP-203) ---------------------------------------------------------------

FILES = (pb.DESCRIPTOR, job_pb2.DESCRIPTOR, governance_pb2.DESCRIPTOR)
#: What a field's comment starts with for its behaviour, so that words and annotations agree.
WORDS = {
    fb.REQUIRED: "Required.",
    fb.OPTIONAL: "Optional.",
    fb.OUTPUT_ONLY: "Output only.",
    fb.IMMUTABLE: "Immutable.",
    fb.INPUT_ONLY: "Input only.",
}
INPUT_BEHAVIOURS = {fb.REQUIRED, fb.OPTIONAL, fb.INPUT_ONLY}


def _messages(messages: Iterable[pbd.Descriptor]) -> Iterator[pbd.Descriptor]:
    for message in messages:
        if not message.GetOptions().map_entry:  # synthesized for a map: no options of its own
            yield message
            yield from _messages(message.nested_types)


def contract_fields() -> list[pbd.FieldDescriptor]:
    """Every field of every message our .proto files declare."""
    return [
        f
        for file in FILES
        for message in _messages(file.message_types_by_name.values())
        for f in message.fields
    ]


def behaviours(field: pbd.FieldDescriptor) -> list[int]:
    return list(field.GetOptions().Extensions[fb.field_behavior])


def _reachable(roots: Iterable[pbd.Descriptor]) -> set[str]:
    """Full names of our messages reachable from ``roots`` through message fields."""
    seen: set[str] = set()
    todo = [m for m in roots if m.file in FILES]
    while todo:
        message = todo.pop()
        if message.full_name in seen:
            continue
        seen.add(message.full_name)
        for f in message.fields:
            target = f.message_type
            if target is not None and target.GetOptions().map_entry:
                target = target.fields_by_name["value"].message_type
            if target is not None and target.file in FILES:
                todo.append(target)
    return seen


def test_every_field_states_its_behaviour() -> None:
    fields = contract_fields()
    missing = [f.full_name for f in fields if not behaviours(f)]
    assert len(fields) > 100 and missing == [], (
        f"fields without google.api.field_behavior: {missing}"
    )


def test_request_fields_are_inputs_and_response_fields_outputs() -> None:
    """What a caller sends is REQUIRED or OPTIONAL; what only the server sends is OUTPUT_ONLY
    (or IMMUTABLE: chosen at creation, returned after)."""
    methods = pb.DESCRIPTOR.services_by_name["TranscriptionService"].methods
    inputs = _reachable(m.input_type for m in methods)
    outputs = _reachable(m.output_type for m in methods) - inputs
    wrong = []
    for f in contract_fields():
        kinds = set(behaviours(f)) & set(WORDS)
        name = f.containing_type.full_name if f.containing_type else ""
        if len(kinds) != 1:
            wrong.append(f"{f.full_name}: {sorted(kinds)}")
        elif name in inputs and not kinds <= INPUT_BEHAVIOURS:
            wrong.append(f"{f.full_name} is sent by callers")
        elif name in outputs and kinds & INPUT_BEHAVIOURS:
            wrong.append(f"{f.full_name} is only ever returned")
    assert inputs and outputs and wrong == []


def field_comments(tmp_path: Path) -> dict[str, str]:
    """Leading comment of every field, by full name, from protoc with source info."""
    out = tmp_path / "contract.binpb"
    files = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / "consulta").rglob("*.proto"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTOS}",
            f"-I{sysconfig.get_paths()['purelib']}",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *files,
        ],
        check=True,
        cwd=PROTOS,
    )
    found: dict[str, str] = {}
    for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        messages = {i: (m, f"{file.package}.{m.name}") for i, m in enumerate(file.message_type)}
        for location in file.source_code_info.location:
            path = tuple(location.path)
            # [4, i, (3, j)*, 2, k]: field k of (nested message j of)* message i.
            if len(path) < 4 or path[0] != 4 or path[-2] != 2 or len(path) % 2:
                continue
            message, name = messages[path[1]]
            for step in range(2, len(path) - 2, 2):
                if path[step] != 3:
                    break
                message = message.nested_type[path[step + 1]]
                name = f"{name}.{message.name}"
            else:
                field = message.field[path[-1]]
                found[f"{name}.{field.name}"] = " ".join(location.leading_comments.split())
    return found


def test_field_comments_start_with_their_behaviour(tmp_path: Path) -> None:
    comments = field_comments(tmp_path)
    wrong = []
    for f in contract_fields():
        word = next((WORDS[b] for b in behaviours(f) if b in WORDS), "")
        if not comments.get(f.full_name, "").startswith(word):
            wrong.append(f"{f.full_name}: {word!r} but {comments.get(f.full_name, '')[:40]!r}")
    assert len(comments) == len(contract_fields()) and wrong == []
