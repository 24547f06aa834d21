"""The client commands of `consulta`: send consultations, read jobs, check health.

``make_cli`` builds the command group; the installed ``consulta`` (app/cli.py) adds the
operator commands (serve, worker, db, token) and a token minter to it, while ``python -m
clients`` runs the client commands alone, with tokens from --token (CONSULTA_TOKEN) only.

Every option has a CONSULTA_* variable; defaults suit the embedded server on this machine
(gRPC on 127.0.0.1:50051, side port 127.0.0.1:8081, data under ./var, where the server keeps
the secret the CLI mints tokens with). Exit codes: 0 done, 1 a call failed or the server is
not SERVING, 2 bad usage, 3 the job failed, 4 the job was cancelled, 5 `jobs cancel` found the
job already finished.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from clients.cli_audit import audit
from clients.cli_common import CliState
from clients.cli_health import health
from clients.cli_jobs import jobs
from clients.cli_transcribe import note, transcribe
from clients.token import TokenMinter

#: The commands of the client alone, in the order they were always registered.
CLIENT_COMMANDS: tuple[click.Command, ...] = (transcribe, note, jobs, health, audit)


def make_cli(
    *, minter: TokenMinter | None = None, commands: Iterable[click.Command] = ()
) -> click.Group:
    """The ``consulta`` group with ``commands`` and the client commands; ``minter`` signs
    tokens for calls made without --token."""

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.option(
        "--server",
        envvar=["CONSULTA_SERVER", "CONSULTA_GRPC_LISTEN"],
        default="127.0.0.1:50051",
        show_default=True,
        metavar="HOST:PORT",
        help="gRPC address (CONSULTA_SERVER).",
    )
    @click.option(
        "--http",
        envvar=["CONSULTA_HTTP", "CONSULTA_HTTP_LISTEN"],
        default="127.0.0.1:8081",
        show_default=True,
        metavar="HOST:PORT",
        help="HTTP side port with /readyz (CONSULTA_HTTP).",
    )
    @click.option("--token", envvar="CONSULTA_TOKEN", help="Bearer token (CONSULTA_TOKEN).")
    @click.option(
        "--user",
        envvar="CONSULTA_USER",
        help="Who to mint a token for when there is no --token (default: your user name).",
    )
    @click.option(
        "--tenant",
        envvar="CONSULTA_TENANT",
        default="default",
        show_default=True,
        help="Tenant of a minted token.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of text.")
    @click.option("--tls/--no-tls", envvar="CONSULTA_TLS", default=False, help="Use TLS.")
    @click.option(
        "--ca",
        "--ca-file",
        "ca_file",
        envvar="CONSULTA_CA_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="PEM roots to trust; implies --tls.",
    )
    @click.option(
        "--cert",
        "cert_file",
        envvar="CONSULTA_CERT_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="PEM client certificate for servers that require mutual TLS; implies --tls.",
    )
    @click.option(
        "--key",
        "key_file",
        envvar="CONSULTA_KEY_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="PEM private key of --cert.",
    )
    @click.option(
        "--timeout",
        envvar="CONSULTA_TIMEOUT",
        type=float,
        default=30.0,
        show_default=True,
        help="Seconds per unary call.",
    )
    @click.version_option(package_name="consulta")
    @click.pass_context
    def cli(
        ctx: click.Context,
        server: str,
        http: str,
        token: str | None,
        user: str | None,
        tenant: str,
        as_json: bool,
        tls: bool,
        ca_file: Path | None,
        cert_file: Path | None,
        key_file: Path | None,
        timeout: float,
    ) -> None:
        """Turn medical consultations into transcripts and clinical notes."""
        ctx.obj = CliState(
            server=server,
            http=http,
            token=token,
            user=user,
            tenant=tenant,
            json=as_json,
            tls=tls,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            timeout=timeout,
            minter=minter,
        )

    for command in (*commands, *CLIENT_COMMANDS):
        cli.add_command(command)
    return cli


#: The client commands alone (``python -m clients``).
cli = make_cli()


def main() -> None:
    """Entry point of the client alone."""
    cli(prog_name="consulta")
