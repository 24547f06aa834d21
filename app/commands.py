"""The operator commands of ``consulta``: ``serve``, ``worker``, ``db upgrade`` and ``token``.

The server, worker and database modules are imported inside their commands: they pull in
SQLAlchemy, the engines and the speech model's runtime, which the client commands never need.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from clients.cli_common import CliState, pass_state
from clients.errors import ConsultaClientError

if TYPE_CHECKING:
    from core.settings import Settings


def _settings(ctx: click.Context, state: CliState) -> Settings:
    """Settings from CONSULTA_* variables, with --server and --http when given as flags."""
    from core.settings import Settings

    overrides: dict[str, str] = {}
    root = ctx.find_root()
    if root.get_parameter_source("server") == click.core.ParameterSource.COMMANDLINE:
        overrides["grpc_listen"] = state.server
    if root.get_parameter_source("http") == click.core.ParameterSource.COMMANDLINE:
        overrides["http_listen"] = state.http
    return Settings(**overrides)  # type: ignore[arg-type]


@click.command()
@click.option(
    "--worker/--no-worker",
    default=None,
    help="Run workers inside the server (default: CONSULTA_RUN_WORKER, true).",
)
@pass_state
@click.pass_context
def serve(ctx: click.Context, state: CliState, worker: bool | None) -> None:
    """Run the gRPC server (and, by default, its workers) until SIGTERM or Ctrl-C."""
    from app.processes import run_server

    run_server(_settings(ctx, state), run_worker=worker)


@click.command()
@pass_state
@click.pass_context
def worker(ctx: click.Context, state: CliState) -> None:
    """Run a worker process against the configured database, queue and blob store."""
    from app.processes import run_worker_process

    run_worker_process(_settings(ctx, state))


@click.group()
def db() -> None:
    """Database schema."""


@db.command()
@pass_state
@click.pass_context
def upgrade(ctx: click.Context, state: CliState) -> None:
    """Migrate the database to the newest schema."""
    from core.db.migrate import upgrade as upgrade_schema

    asyncio.run(upgrade_schema(_settings(ctx, state)))
    click.echo("database is up to date", err=True)


@click.command()
@click.option("--user", help="The token's subject (default: --user, CONSULTA_USER, you).")
@click.option("--tenant", help="The token's tenant (default: --tenant).")
@click.option("--role", "roles", multiple=True, help="A role, e.g. service; repeatable.")
@click.option(
    "--ttl",
    type=click.IntRange(min=1),
    default=3600,
    show_default=True,
    help="Seconds the token is valid.",
)
@pass_state
def token(
    state: CliState, user: str | None, tenant: str | None, roles: tuple[str, ...], ttl: int
) -> None:
    """Print a bearer token signed with this machine's secret."""
    try:
        minted = state.mint(user=user, tenant=tenant, roles=roles, ttl_seconds=ttl)
    except ConsultaClientError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(minted)


#: In the order ``consulta --help`` has always had them registered.
OPERATOR_COMMANDS: tuple[click.Command, ...] = (serve, worker, db, token)
