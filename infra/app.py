"""CDK entry point.

Under the cdk CLI (`cdk synth -c env=prod`) the context, cdk.json included, arrives in
CDK_CONTEXT_JSON. Run directly (`python app.py prod`, or `make synth ENV=prod`), it reads
cdk.json itself and writes cdk.out/ without the CLI.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App
from consulta_infra.config import load
from consulta_infra.stack import ConsultaStack


def file_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((Path(__file__).parent / "cdk.json").read_text())[
        "context"
    ]
    return context


def build(app: App) -> ConsultaStack:
    env = app.node.try_get_context("env") or "dev"
    config = load(env, app.node.try_get_context)
    return ConsultaStack(app, config.stack_name, config=config)


if __name__ == "__main__":
    if "CDK_CONTEXT_JSON" in os.environ:
        app = App()
    else:
        env = sys.argv[1] if len(sys.argv) > 1 else "dev"
        app = App(context={**file_context(), "env": env}, outdir="cdk.out")
    build(app)
    app.synth()
