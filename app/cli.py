"""The installed ``consulta`` command: the client CLI (clients/cli.py) with the operator
commands (app/commands.py) and tokens signed with this machine's secret (app/tokens.py)."""

from __future__ import annotations

from app.commands import OPERATOR_COMMANDS
from app.tokens import mint_from_secret
from clients.cli import make_cli

cli = make_cli(minter=mint_from_secret, commands=OPERATOR_COMMANDS)


def main() -> None:
    """Console entry point (``[project.scripts]`` in pyproject.toml)."""
    cli(prog_name="consulta")
