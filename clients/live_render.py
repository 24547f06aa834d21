"""How the CLI shows a live job's events as they come.

On a terminal the utterance being spoken is one line that changes in place (carriage return,
erase line) and a final line replaces it once it settles; piped output gets only the final
lines, plain, so that ``consulta transcribe --realtime --follow visit.mp3 > visit.txt``
writes the transcript; ``--json`` prints every event as one JSON line. Everything else (states,
the note) is shown as FollowPrinter shows it, after the in-place line is erased, so that
nothing is drawn over it.
"""

from __future__ import annotations

import shutil
from typing import IO

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from rich.console import Console

from clients.progress import clock
from clients.render import FollowPrinter, json_line

# Carriage return, then erase the whole line (ANSI EL 2).
ERASE_LINE = "\r\x1b[2K"


def fit(text: str, width: int) -> str:
    """``text``, or its end after an ellipsis when it is wider than ``width`` columns: the
    newest words are the ones to see, and a line that wrapped could not be redrawn."""
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1 :] if width > 1 else text[-width:]


class LivePrinter:
    """Prints the events of a live upload and of the WatchJob stream that follows it."""

    def __init__(
        self,
        out: IO[str],
        err: Console,
        *,
        as_json: bool,
        tty: bool | None = None,
        width: int | None = None,
    ) -> None:
        self._out = out
        self._json = as_json
        self._tty = out.isatty() if tty is None else tty
        self._width = width
        self._follow = FollowPrinter(out, err, as_json=False)
        self._interim_shown = False

    @property
    def state(self) -> job_pb2.JobState.ValueType:
        return self._follow.state

    @property
    def reason(self) -> str:
        return self._follow.reason

    def use_job(self, job: job_pb2.Job) -> None:
        """The live job as the upload opened it: its language names the speakers."""
        self._follow.use_job(job)

    def show(self, message: pb.WatchJobResponse) -> None:
        """One message of the upload (as a WatchJobResponse) or of the follow-up watch. A
        snapshot is only tracked: the job was shown when the upload opened it."""
        self._follow.track(message)
        if message.HasField("snapshot"):
            return
        if self._json:
            self._out.write(json_line(message) + "\n")
            self._out.flush()
            return
        kind = message.event.WhichOneof("payload")
        if kind == "interim":
            if self._tty:
                self._draw(message.event.interim)
            return
        if kind == "progress":
            return  # the words themselves show the progress of a live job
        self._erase()
        self._follow.show(message)

    def _draw(self, interim: pb.InterimTranscript) -> None:
        span = f"[{clock(interim.start_seconds)} - {clock(interim.end_seconds)}] "
        width = self._width or shutil.get_terminal_size().columns
        # One column short of the width: a line that fills it wraps on some terminals.
        line = span + fit(interim.text, max(width - 1 - len(span), 1))
        self._out.write(ERASE_LINE + line)
        self._out.flush()
        self._interim_shown = True

    def _erase(self) -> None:
        if self._interim_shown:
            self._out.write(ERASE_LINE)
            self._out.flush()
            self._interim_shown = False

    def close(self) -> None:
        """Erase a pending in-place line and stop any progress display."""
        self._erase()
        self._follow.close()
