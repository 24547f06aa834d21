"""Running and checking a deployment: `serve`, `worker`, `db upgrade`, `token`, `health`.

The server, worker and database modules are imported inside their commands: they pull in
SQLAlchemy, the engines and the speech model's runtime, which the client commands never need.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from clients.cli_common import EXIT_ERROR, EXIT_OK, CliState, json_option, pass_state, run
from clients.client import SERVICE_NAME
from clients.errors import ConsultaClientError
from clients.render import json_line
from clients.token import default_user, mint_from_secret

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
    from server.app import run_server

    run_server(_settings(ctx, state), run_worker=worker)


@click.command()
@pass_state
@click.pass_context
def worker(ctx: click.Context, state: CliState) -> None:
    """Run a worker process against the configured database, queue and blob store."""
    from workers.app import run_worker_process

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
        minted = mint_from_secret(
            user=user or state.user or default_user(),
            tenant=tenant or state.tenant,
            roles=roles,
            ttl_seconds=ttl,
        )
    except ConsultaClientError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(minted)


async def _readyz(address: str, state: CliState) -> str:
    # Imported here: aiohttp takes a third of a second to import and only health needs it.
    import ssl

    import aiohttp

    # The side port speaks TLS whenever the gRPC port does (same certificate).
    context = None
    if state.uses_tls:
        context = ssl.create_default_context(cafile=str(state.ca_file) if state.ca_file else None)
    url = f"{'https' if context else 'http'}://{address}/readyz"
    timeout = aiohttp.ClientTimeout(total=5)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, ssl=context if context else True) as reply,
        ):
            body = (await reply.text()).strip()
            return "SERVING" if reply.status == 200 else body or f"HTTP {reply.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"UNREACHABLE ({type(exc).__name__}: {exc})"


@click.command()
@click.option("--http", "check_http", is_flag=True, help="Also ask /readyz on the side port.")
@json_option
@pass_state
def health(state: CliState, check_http: bool) -> None:
    """grpc.health.v1 status of the server and of TranscriptionService; exit 0 when SERVING."""
    from clients.cli_common import local_address

    async def go() -> dict[str, str]:
        report: dict[str, str] = {}
        async with state.anonymous_client() as client:
            for label, service in (("server", ""), (SERVICE_NAME, SERVICE_NAME)):
                try:
                    report[label] = await client.health(service)
                except ConsultaClientError as exc:
                    report[label] = f"UNREACHABLE ({exc.message})" if exc.code else exc.message
        if check_http:
            report["readyz"] = await _readyz(local_address(state.http), state)
        return report

    report = run(go())
    if state.json:
        click.echo(json_line(dict(report)))
    else:
        for label, status in report.items():
            click.echo(f"{label}: {status}")
    healthy = all(status == "SERVING" for status in report.values())
    raise SystemExit(EXIT_OK if healthy else EXIT_ERROR)
