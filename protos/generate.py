"""Generate gen/ from protos/: messages, gRPC stubs and .pyi types (mypy-protobuf).

``python protos/generate.py gen`` is what ``make gen`` runs; the contract test runs the same
function into a temporary folder and fails when gen/ differs.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def generate(out: Path) -> None:
    protos = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "consulta").rglob("*.proto"))
    out = out.resolve()
    bindir = Path(sys.executable).parent
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{ROOT}",
            f"-I{sysconfig.get_paths()['purelib']}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--mypy_out={out}",
            f"--mypy_grpc_out={out}",
            f"--plugin=protoc-gen-mypy={bindir / 'protoc-gen-mypy'}",
            f"--plugin=protoc-gen-mypy_grpc={bindir / 'protoc-gen-mypy_grpc'}",
            *protos,
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    for package in (out / "consulta", out / "consulta" / "v1"):
        (package / "__init__.py").touch()
    (out / "consulta" / "py.typed").touch()


if __name__ == "__main__":
    generate(Path(sys.argv[1]))
