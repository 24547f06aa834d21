"""How a command ends for a job: its exit code and the warnings shown beside it, shared by
the batch and live transcribe commands and `jobs watch`."""

from __future__ import annotations

from consulta.v1 import job_pb2

from clients.cli_common import EXIT_JOB_CANCELLED, EXIT_JOB_FAILED, EXIT_OK, stderr
from clients.render import warning_line


def exit_code(state: int) -> int:
    """The process exit code for a job that ended in ``state``."""
    if state == job_pb2.JOB_STATE_FAILED:
        return EXIT_JOB_FAILED
    if state == job_pb2.JOB_STATE_CANCELLED:
        return EXIT_JOB_CANCELLED
    return EXIT_OK


def show_warnings(job: job_pb2.Job) -> None:
    """The job's warnings (a recording cut short, poor audio) on stderr, one a line."""
    for warning in job.warnings:
        stderr().print("[yellow]warning:[/] ", end="")
        stderr().print(warning_line(warning), markup=False, soft_wrap=True)
