"""CDK entry point: `cdk synth -c env=dev|prod` (or `python app.py`) builds one stack."""

from __future__ import annotations

from aws_cdk import App
from consulta_infra.config import load
from consulta_infra.stack import ConsultaStack


def build(app: App) -> ConsultaStack:
    env = app.node.try_get_context("env") or "dev"
    config = load(env, app.node.try_get_context)
    return ConsultaStack(app, config.stack_name, config=config)


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
