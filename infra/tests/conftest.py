"""Synthesizes the dev and prod stacks once per session, offline, the way `cdk synth` does."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INFRA = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(INFRA))

# Node 20 is past jsii's support window but synthesizes correctly; keep its banner out of logs.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# No network: any HTTP client that honours proxies (pip, checkov, boto) fails at once.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ[_var] = "http://127.0.0.1:9"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = ""

from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from consulta_infra.config import EnvConfig  # noqa: E402

import app as cdk_app  # noqa: E402

ENVS = ("dev", "prod")


def cdk_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((INFRA / "cdk.json").read_text())["context"]
    return context


@dataclass(frozen=True)
class Synthesized:
    config: EnvConfig
    template: dict[str, Any]
    path: Path

    @property
    def assertions(self) -> Template:
        return Template.from_json(self.template)

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            name: body for name, body in self.template["Resources"].items() if body["Type"] == kind
        }

    def one(self, kind: str, prefix: str = "") -> tuple[str, dict[str, Any]]:
        found = [(n, b) for n, b in self.resources(kind).items() if n.startswith(prefix)]
        assert len(found) == 1, f"expected one {kind} named {prefix}*, got {[n for n, _ in found]}"
        return found[0]

    def logical(self, kind: str, prefix: str) -> str:
        return self.one(kind, prefix)[0]


def synthesize(env: str, outdir: Path, **overrides: Any) -> Synthesized:
    app = App(context={**cdk_context(), "env": env, **overrides}, outdir=str(outdir))
    stack = cdk_app.build(app)
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(stack.stack_name)
    return Synthesized(
        config=stack.config,
        template=artifact.template,
        path=Path(assembly.directory) / artifact.template_file,
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    return {env: synthesize(env, tmp_path_factory.mktemp(f"cdk-{env}")) for env in ENVS}


@pytest.fixture(params=ENVS)
def stack(
    request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]
) -> Iterator[Synthesized]:
    yield synthesized[request.param]


@pytest.fixture
def dev(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["dev"]


@pytest.fixture
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["prod"]
