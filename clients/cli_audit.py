"""`consulta audit`: the tenant's audit log, for a caller with the auditor role."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from consulta.v1 import governance_pb2

from clients.cli_common import CliState, json_option, pass_state, run
from clients.render import json_line, timestamp


def _utc(value: datetime | None) -> datetime | None:
    """A naive date from the command line is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@click.command()
@click.option("--job", "job_id", default="", help="Only events about this job.")
@click.option("--subject", default="", help="Only events of this user.")
@click.option("--since", type=click.DateTime(), help="Only events at or after (UTC).")
@click.option("--until", type=click.DateTime(), help="Only events before (UTC).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
@pass_state
def audit(
    state: CliState,
    job_id: str,
    subject: str,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> None:
    """Who read or changed which job, newest first (needs the auditor role).

    With --token (CONSULTA_TOKEN) that token is used; otherwise one with the auditor role is
    minted from this machine's secret.
    """

    async def go() -> list[governance_pb2.AuditEvent]:
        token = state.token or state.mint(roles=("auditor",))
        async with state.anonymous_client(token) as client:
            return [
                event
                async for event in client.list_audit_events(
                    job_id=job_id,
                    subject=subject,
                    start=_utc(since),
                    end=_utc(until),
                    limit=limit,
                )
            ]

    events = run(go())
    for event in events:
        if state.json:
            click.echo(json_line(event))
        else:
            click.echo(
                "  ".join(
                    [
                        timestamp(event.time),
                        event.subject,
                        event.action,
                        event.job_id or "-",
                        event.outcome,
                    ]
                )
            )
    if not events and not state.json:
        click.echo("No audit events.", err=True)
