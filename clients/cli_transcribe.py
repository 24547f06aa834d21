"""`consulta transcribe` (upload audio, optionally follow the job) and `consulta note`
(write a note from a text transcript on stdin), both ending in the job's final state."""

from __future__ import annotations

import asyncio
import mimetypes
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from clients.cli_common import (
    EXIT_JOB_FAILED,
    EXIT_OK,
    CliState,
    json_option,
    local_address,
    pass_state,
    run,
    stderr,
)
from clients.cli_outcome import exit_code, show_warnings
from clients.client import ConsultaClient
from clients.errors import Cancelled, ConsultaClientError, DeadlineExceeded, NotFound, Unavailable
from clients.live_render import LivePrinter
from clients.render import (
    TEMPLATES,
    FollowPrinter,
    json_line,
    note_text,
    state_name,
    to_dict,
)
from clients.resume_state import PendingUploads, upload_key
from clients.upload import UploadProgress

template_option = click.option(
    "--template",
    type=click.Choice(sorted(TEMPLATES)),
    default="soap",
    show_default=True,
    help="The kind of note to write.",
)
language_option = click.option(
    "--language",
    default="",
    metavar="BCP47",
    help="Language of the consultation, e.g. en or es-MX; detected when empty.",
)


def job_config(
    template: str,
    language: str,
    *,
    idempotency_key: str = "",
    transcriber: str = "",
    summarizer: str = "",
) -> job_pb2.JobConfig:
    return job_pb2.JobConfig(
        template=TEMPLATES[template],
        language_code=language,
        idempotency_key=idempotency_key,
        engine_hints=job_pb2.EngineHints(transcriber=transcriber, summarizer=summarizer),
    )


@contextmanager
def upload_bar(name: str, total: int | None) -> Iterator[Callable[[UploadProgress], None]]:
    """A progress bar on stderr, fed by the upload's progress reports."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=stderr(),
        transient=False,
    ) as progress:
        task = progress.add_task(f"uploading {name}", total=total)

        def update(report: UploadProgress) -> None:
            label = f"uploading {name}" + (
                f" (resumed x{report.resumes})" if report.resumes else ""
            )
            progress.update(task, completed=report.sent, total=report.total, description=label)

        yield update


async def follow(client: ConsultaClient, job_id: str, as_json: bool) -> FollowPrinter | LivePrinter:
    """Print a job's transcript, progress and note as they are written, to its end. A live
    job still receiving its audio is shown as `transcribe --realtime --follow` shows it."""
    printer = FollowPrinter(None, stderr(), as_json=as_json)
    live: LivePrinter | None = None
    try:
        async for message in client.watch(job_id):
            if live is not None:
                live.show(message)
                continue
            printer.show(message)
            receiving = message.snapshot.state == job_pb2.JOB_STATE_RECEIVING
            if message.HasField("snapshot") and receiving and not as_json:
                live = LivePrinter(sys.stdout, stderr(), as_json=False)
                live.use_job(message.snapshot)
    finally:
        printer.close()
        if live is not None:
            live.close()
    return live or printer


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@template_option
@language_option
@click.option("--follow", is_flag=True, help="Stream the transcript and the note as written.")
@click.option(
    "--realtime",
    is_flag=True,
    help="Live upload: send FILE at its real pace, as a microphone would, and transcribe "
    "while it is sent. Ctrl-C finishes the upload with the audio sent so far and goes on to "
    "the note; a second Ctrl-C quits.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="With --realtime: send this many times faster than real pace (for benchmarks).",
)
@click.option("--idempotency-key", default="", help="Makes a repeated upload return one job.")
@click.option("--transcriber", default="", help="Transcription engine, e.g. local or openai.")
@click.option("--summarizer", default="", help="Note engine, e.g. local or groq.")
@json_option
@pass_state
def transcribe(
    state: CliState,
    file: Path,
    template: str,
    language: str,
    follow: bool,
    realtime: bool,
    speed: float,
    idempotency_key: str,
    transcriber: str,
    summarizer: str,
) -> None:
    """Upload FILE (audio) and print the job id; with --follow, watch the job to its end.

    With --realtime the upload is live: the job id is printed as soon as the job exists,
    and --follow shows the words as they are heard (updated in place on a terminal, final
    lines only when piped, every event with --json), then the note. Ctrl-C during a
    realtime send finishes the upload with what was sent and keeps following to the note;
    a second Ctrl-C quits.

    Exits 3 when the job failed and 4 when it was cancelled."""
    if speed != 1.0 and not realtime:
        raise click.UsageError("--speed goes with --realtime.")
    config = job_config(
        template,
        language,
        idempotency_key=idempotency_key,
        transcriber=transcriber,
        summarizer=summarizer,
    )
    if realtime:
        from clients.cli_live import transcribe_live  # it imports this module

        mime_type = mimetypes.guess_type(file.name)[0] or ""
        live = transcribe_live(state, file, config, mime_type=mime_type, follow=follow, speed=speed)
        raise SystemExit(run(live))
    raise SystemExit(run(_transcribe(state, file, config, follow)))


async def _transcribe(state: CliState, file: Path, config: job_pb2.JobConfig, watch: bool) -> int:
    mime_type = mimetypes.guess_type(file.name)[0] or ""
    size = await asyncio.to_thread(lambda: file.stat().st_size)
    pending = PendingUploads.default()
    identity = pb.UploadConfig(job=config, mime_type=mime_type, filename=file.name)
    key = await asyncio.to_thread(upload_key, file, local_address(state.server), identity)
    async with state.client() as client:
        resume_id, job = await _pending_upload(client, pending, key)
        if job is None:
            job = await _upload(client, file, config, mime_type, size, pending, key, resume_id)
        if state.json:
            print(json_line({"job": to_dict(job)}), flush=True)
        else:
            print(job.job_id, flush=True)
            show_warnings(job)
        if not watch:
            return EXIT_OK
        printer = await follow(client, job.job_id, state.json)
        return exit_code(printer.state)


async def _pending_upload(
    client: ConsultaClient, pending: PendingUploads, key: str
) -> tuple[str, job_pb2.Job | None]:
    """The unfinished upload an earlier run left for this file: its id to resume, or the job
    when it had finished after all. Forgotten when the server no longer knows it."""
    upload_id = await asyncio.to_thread(pending.get, key)
    if upload_id is None:
        return "", None
    try:
        status = await client.get_upload_status(upload_id)
    except NotFound:
        await asyncio.to_thread(pending.forget, key)  # expired or refused: start over
        return "", None
    if status.complete:
        await asyncio.to_thread(pending.forget, key)
        return "", await client.get_job(status.job_id)
    stderr().print(
        f"resuming upload {upload_id} from {megabytes(status.committed_offset)}",
        markup=False,
        soft_wrap=True,
    )
    return upload_id, None


async def _upload(
    client: ConsultaClient,
    file: Path,
    config: job_pb2.JobConfig,
    mime_type: str,
    size: int,
    pending: PendingUploads,
    key: str,
    resume_id: str,
) -> job_pb2.Job:
    """Upload with a progress bar, remembering the upload id until the job exists, so that a
    later run of the same command resumes after Ctrl-C or a lost connection."""
    remembered = resume_id
    committed = 0
    try:
        with upload_bar(file.name, size) as show:

            def on_progress(report: UploadProgress) -> None:
                nonlocal remembered, committed
                if report.upload_id and report.upload_id != remembered:
                    pending.remember(key, report.upload_id)
                    remembered = report.upload_id
                committed = report.committed
                show(report)

            job = await client.upload(
                file,
                config,
                mime_type=mime_type,
                on_progress=on_progress,
                resume_upload_id=resume_id,
            )
    except (Unavailable, DeadlineExceeded, Cancelled, asyncio.CancelledError):
        # Ctrl-C (asyncio cancels the command) or a lost server: the committed bytes stay on
        # the server, and the same command picks them up.
        if remembered:
            stderr().print(
                f"upload {remembered} stopped with {megabytes(committed)} stored; run the same "
                "command again to resume it.",
                markup=False,
                soft_wrap=True,
            )
        raise
    except ConsultaClientError:
        await asyncio.to_thread(pending.forget, key)  # refused: the server dropped it
        raise
    await asyncio.to_thread(pending.forget, key)
    return job


def megabytes(size: int) -> str:
    """ "41.9 MB": decimal units, as file managers show sizes."""
    return f"{size / 1e6:.1f} MB"


@click.command()
@template_option
@language_option
@json_option
@pass_state
def note(state: CliState, template: str, language: str) -> None:
    """Write a note from a text transcript read on stdin; print only the note.

    One turn per line, optionally starting with a speaker ("Doctor:", "Patient:").
    --json prints the structured note. Exits 3 when the job failed."""
    if sys.stdin.isatty():
        # Someone typing, not a file or pipe: say how to finish, or it looks like a hang.
        end = "Ctrl-Z then Enter" if sys.platform == "win32" else "Ctrl-D on an empty line"
        stderr().print(
            f"Type or paste the transcript, one turn per line; end with {end}.",
            markup=False,
            soft_wrap=True,
        )
    text = sys.stdin.read()
    raise SystemExit(run(_note(state, text, job_config(template, language))))


async def _note(state: CliState, text: str, config: job_pb2.JobConfig) -> int:
    async with state.client() as client:
        job = await client.create_job(config, transcript_text=text)
        printer = FollowPrinter(sys.stdout, stderr(), as_json=False)
        with stderr().status(f"writing the note (job {job.job_id})"):
            async for message in client.watch(job.job_id):
                # Only tracked here: stdout is kept for the note itself.
                printer.track(message)
        if printer.state != job_pb2.JOB_STATE_COMPLETED:
            reason = printer.reason or "no reason given"
            stderr().print(f"[red]job {job.job_id} {state_name(printer.state)}:[/] {reason}")
            return exit_code(printer.state) or EXIT_JOB_FAILED
        summary = printer.summary or await client.get_summary(job.job_id)
        if state.json:
            print(json_line(summary))
        else:
            sys.stdout.write(note_text(summary))
        return EXIT_OK
