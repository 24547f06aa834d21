"""Running the consulta CLI in-process against a test server."""

from __future__ import annotations

from click.testing import CliRunner, Result

from app.cli import cli
from tests.clients.fake_consulta import SECRET
from tests.clients.fake_server_thread import ServerThread

# Variables of the developer's shell must not change what the tests see.
CLEAN_ENV: dict[str, str | None] = {
    name: None
    for name in (
        "CONSULTA_SERVER",
        "CONSULTA_GRPC_LISTEN",
        "CONSULTA_HTTP",
        "CONSULTA_HTTP_LISTEN",
        "CONSULTA_TOKEN",
        "CONSULTA_USER",
        "CONSULTA_TENANT",
        "CONSULTA_TLS",
        "CONSULTA_CA_FILE",
        "CONSULTA_JWT_SECRET",
        "CONSULTA_JWT_ISSUER",
        "CONSULTA_DATA_DIR",
    )
}


def consulta(
    server: ServerThread,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """Run the CLI against ``server``, with a token minted from the fake's secret."""
    environment = dict(CLEAN_ENV)
    environment.update(
        {
            "CONSULTA_SERVER": server.target,
            "CONSULTA_HTTP": server.http_target,
            "CONSULTA_JWT_SECRET": SECRET,
            "CONSULTA_USER": "dr-house",
        }
    )
    environment.update(env or {})
    return CliRunner().invoke(cli, list(args), input=stdin, env=environment, catch_exceptions=False)
