"""`consulta transcribe FILE --realtime`: a live upload of a file sent at its real pace, as a
microphone would send it, optionally followed to the note.

Ctrl-C while the file is being sent finishes the upload with the audio sent so far (the next
chunk carries `finish`), and the job goes on to its note; a second Ctrl-C, or one after the
sending is over, quits as any command does (exit 130).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path
from types import FrameType, TracebackType

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb

from clients.cli_common import EXIT_OK, CliState, stderr
from clients.cli_outcome import exit_code, show_warnings
from clients.live_render import LivePrinter
from clients.live_sources import PacedFileSource
from clients.progress import clock
from clients.render import json_line, to_dict


class FinishOnInterrupt:
    """While installed, the first SIGINT during the send stops the source (the upload then
    finishes with what was sent); any other goes to the handler that was there before, which
    under asyncio.run cancels the command."""

    def __init__(
        self,
        source: PacedFileSource,
        loop: asyncio.AbstractEventLoop,
        before_message: Callable[[], None] | None = None,
    ) -> None:
        self._source = source
        self._loop = loop
        # Erases the in-place interim line, so that the message is not written after it.
        self._before_message = before_message
        self.sending = True
        self._previous: signal.Handlers | object = signal.default_int_handler
        self._installed = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.sending and not self._source.stopped:
            self._loop.call_soon_threadsafe(self._finish)
            return
        previous = self._previous
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    def _finish(self) -> None:
        self._source.stop()
        if self._before_message is not None:
            self._before_message()
        stderr().print(
            f"finishing the upload with {clock(self._source.seconds_sent)} of audio sent; "
            "Ctrl-C again to quit",
            markup=False,
            soft_wrap=True,
        )

    def __enter__(self) -> FinishOnInterrupt:
        # Signal handlers can only be set from the main thread; elsewhere Ctrl-C quits.
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self.handle)
            self._installed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
            self._installed = False


async def transcribe_live(
    state: CliState,
    file: Path,
    config: job_pb2.JobConfig,
    *,
    mime_type: str,
    follow: bool,
    speed: float,
) -> int:
    """Send ``file`` live and print the job id when the job opens; with ``follow``, its
    events as they come and then the note. Returns the exit code."""
    source = await PacedFileSource.open(file, speed=speed)
    pace = "real pace" if speed == 1 else f"{speed:g}x real pace"
    stderr().print(
        f"sending {file.name} live at {pace} ({clock(source.duration)} of audio); "
        "Ctrl-C finishes the upload with what was sent",
        markup=False,
        soft_wrap=True,
    )
    printer = LivePrinter(sys.stdout, stderr(), as_json=state.json)
    async with state.client() as client:
        live = await client.upload_live(source, config, mime_type=mime_type, filename=file.name)
        loop = asyncio.get_running_loop()
        with FinishOnInterrupt(source, loop, printer.close) as interrupt:
            try:
                async with aclosing(live.upload()) as messages:
                    job = await _send(messages, printer, state.json, follow)
            finally:
                interrupt.sending = False
                printer.close()
            stderr().print(f"sent {clock(source.seconds_sent)} of audio", markup=False)
            show_warnings(job)
            if not follow:
                return EXIT_OK
            try:
                async for message in live.follow():
                    printer.show(message)
            finally:
                printer.close()
    return exit_code(printer.state)


async def _send(
    messages: AsyncIterator[pb.UploadAudioResponse],
    printer: LivePrinter,
    as_json: bool,
    follow: bool,
) -> job_pb2.Job:
    """Print the job id when the job opens and, when following, each event; the job the
    upload ends with."""
    opened = False
    job = job_pb2.Job()
    async for message in messages:
        if message.HasField("job"):
            job = message.job
            if not opened:
                opened = True
                _print_job(job, as_json)
                printer.use_job(job)
        elif follow:
            printer.show(pb.WatchJobResponse(event=message.event))
    return job


def _print_job(job: job_pb2.Job, as_json: bool) -> None:
    if as_json:
        print(json_line({"job": to_dict(job)}), flush=True)
    else:
        print(job.job_id, flush=True)
