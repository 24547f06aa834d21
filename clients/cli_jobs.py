"""`consulta jobs list|get|watch|transcript|summary|cancel|delete`."""

from __future__ import annotations

import click
from consulta.v1 import job_pb2

from clients.cli_common import (
    EXIT_ALREADY_FINISHED,
    CliState,
    json_option,
    pass_state,
    run,
    stdout,
)
from clients.render import (
    STATES,
    is_timed,
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
@click.option("--page-token", default="", help="Continue where an earlier listing stopped.")
@click.option("--all", "everything", is_flag=True, help="Every job, however many.")
@json_option
@pass_state
def list_jobs(
    state: CliState, states: tuple[str, ...], limit: int, page_token: str, everything: bool
) -> None:
    """Your jobs, newest first; says how to see more when there are."""

    async def go() -> tuple[list[job_pb2.Job], str]:
        found: list[job_pb2.Job] = []
        token = page_token
        async with state.client() as client:
            wanted = [STATES[s] for s in states]
            while True:
                # Pages end exactly at --limit, so the token continues right after it.
                size = 100 if everything else min(limit - len(found), 100)
                page, token = await client.list_page(
                    states=wanted, page_size=size, page_token=token
                )
                found.extend(page)
                if not token or (not everything and len(found) >= limit):
                    return found, token

    found, next_token = run(go())
    if state.json:
        for job in found:
            click.echo(json_line(job))
    elif found:
        stdout().print(jobs_table(found))
    else:
        click.echo("No jobs.", err=True)
    if next_token:
        click.echo(
            f"More jobs exist: consulta jobs list --page-token {next_token} (or --all).",
            err=True,
        )


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
    if audio_url and not job.audio_download_url:
        click.echo(f"No audio URL: {no_audio_url_reason(job)}", err=True)


def no_audio_url_reason(job: job_pb2.Job) -> str:
    if not job.audio_size_bytes:
        return "this job was made from a text transcript and has no audio."
    return (
        "this deployment's blob store cannot sign download URLs (the embedded default keeps "
        "audio in a local folder, CONSULTA_BLOB_URL=file://...; an s3:// store can)."
    )


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
        timed = is_timed(found)
        for segment in found.segments:
            click.echo(segment_line(segment, language=found.language_code, timed=timed))


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
    """Cancel a job that has not finished.

    A job that already completed or failed is left as it is: that is reported on stderr and
    the exit code is 5, so that a script can tell it from a job it stopped."""

    async def go() -> job_pb2.Job:
        async with state.client() as client:
            return await client.cancel(job_id)

    job = run(go())
    if state.json:
        click.echo(json_line(job))
    else:
        click.echo(f"{job.job_id} {state_name(job.state)}")
    if job.state in (job_pb2.JOB_STATE_COMPLETED, job_pb2.JOB_STATE_FAILED):
        click.echo(
            f"Job {job.job_id} had already finished ({state_name(job.state)}); nothing to cancel.",
            err=True,
        )
        raise SystemExit(EXIT_ALREADY_FINISHED)


@jobs.command("watch")
@click.argument("job_id")
@json_option
@pass_state
def watch(state: CliState, job_id: str) -> None:
    """Reattach to a job: print its transcript, progress and note as they are written, as
    `transcribe --follow` does, until it ends. Exits 3 when it failed, 4 when cancelled."""
    from clients.cli_outcome import exit_code
    from clients.cli_transcribe import follow

    async def go() -> int:
        async with state.client() as client:
            printer = await follow(client, job_id, state.json)
            return exit_code(printer.state)

    raise SystemExit(run(go()))


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
