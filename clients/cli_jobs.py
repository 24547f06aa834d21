"""`consulta jobs list|get|transcript|summary|cancel|delete`."""

from __future__ import annotations

import click
from consulta.v1 import job_pb2

from clients.cli_common import CliState, json_option, pass_state, run, stdout
from clients.render import (
    STATES,
    job_table,
    jobs_table,
    json_line,
    note_text,
    segment_line,
    state_name,
    timestamp,
    to_dict,
)


@click.group()
def jobs() -> None:
    """List, inspect, cancel and delete your jobs."""


@jobs.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(sorted(STATES)),
    help="Only jobs in this state; repeat for several.",
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@json_option
@pass_state
def list_jobs(state: CliState, states: tuple[str, ...], limit: int) -> None:
    """Your jobs, newest first."""

    async def go() -> list[job_pb2.Job]:
        async with state.client() as client:
            wanted = [STATES[s] for s in states]
            page_size = min(limit, 100)
            return [
                job
                async for job in client.list_jobs(states=wanted, page_size=page_size, limit=limit)
            ]

    found = run(go())
    if state.json:
        for job in found:
            click.echo(json_line(job))
    elif found:
        stdout().print(jobs_table(found))
    else:
        click.echo("No jobs.", err=True)


@jobs.command("get")
@click.argument("job_id")
@click.option("--audio-url", is_flag=True, help="Also ask for a presigned audio download URL.")
@json_option
@pass_state
def get_job(state: CliState, job_id: str, audio_url: bool) -> None:
    """One job: state, progress, configuration, audio and error."""

    async def go() -> job_pb2.Job:
        async with state.client() as client:
            return await client.get_job(job_id, include_audio_url=audio_url)

    job = run(go())
    if state.json:
        click.echo(json_line(job))
    else:
        stdout().print(job_table(job))


@jobs.command("transcript")
@click.argument("job_id")
@json_option
@pass_state
def transcript(state: CliState, job_id: str) -> None:
    """The job's transcript, one segment per line with times and speaker."""

    async def go() -> job_pb2.Transcript:
        async with state.client() as client:
            return await client.get_transcript(job_id)

    found = run(go())
    if state.json:
        click.echo(json_line(found))
    else:
        for segment in found.segments:
            click.echo(segment_line(segment))


@jobs.command("summary")
@click.argument("job_id")
@json_option
@pass_state
def summary(state: CliState, job_id: str) -> None:
    """The job's note."""

    async def go() -> job_pb2.Summary:
        async with state.client() as client:
            return await client.get_summary(job_id)

    found = run(go())
    if state.json:
        click.echo(json_line(found))
    else:
        click.echo(note_text(found), nl=False)


@jobs.command("cancel")
@click.argument("job_id")
@json_option
@pass_state
def cancel(state: CliState, job_id: str) -> None:
    """Cancel a job that has not finished; a finished job is left as it is."""

    async def go() -> job_pb2.Job:
        async with state.client() as client:
            return await client.cancel(job_id)

    job = run(go())
    if state.json:
        click.echo(json_line(job))
    else:
        click.echo(f"{job.job_id} {state_name(job.state)}")


@jobs.command("delete")
@click.argument("job_id")
@json_option
@pass_state
def delete(state: CliState, job_id: str) -> None:
    """Delete a job with its audio, transcript and note."""

    async def go() -> str:
        async with state.client() as client:
            response = await client.delete(job_id)
            return json_line(to_dict(response)) if state.json else timestamp(response.delete_time)

    shown = run(go())
    click.echo(shown if state.json else f"{job_id} deleted at {shown}")
