"""`consulta health`: the grpc.health.v1 status of a server, and its /readyz side port."""

from __future__ import annotations

import click

from clients.cli_common import EXIT_ERROR, EXIT_OK, CliState, json_option, pass_state, run
from clients.client import SERVICE_NAME
from clients.errors import ConsultaClientError
from clients.render import json_line


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
