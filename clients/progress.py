"""Transcription progress for a person: a bar with the time left on a terminal, or a line at
every tenth of the way when stderr is a file or a pipe (so logs stay short).

Fed by the worker's TranscriptionProgress events (seconds of audio processed out of the
total); the time left is the time transcription has taken so far scaled by the audio still
to do.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn


def clock(seconds: float) -> str:
    """ "01:02.5" for 62.5 seconds; hours when there are any."""
    minutes, secs = divmod(max(seconds, 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:04.1f}"
    return f"{minutes:02d}:{secs:04.1f}"


def time_left(elapsed: float, processed: float, total: float) -> float | None:
    """Seconds left at the pace so far; None until there is a pace to go by."""
    if processed <= 0 or elapsed <= 0 or total <= processed:
        return None if total > processed else 0.0
    return elapsed * (total - processed) / processed


class TranscriptionBar:
    """Shows transcription progress on ``err`` until ``close()``."""

    def __init__(self, err: Console) -> None:
        self._err = err
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._started: float | None = None
        self._last_tenth = -1

    def update(
        self, processed: float, total: float, *, at: float | None = None, since: float | None = None
    ) -> None:
        """``at`` is when the worker reported this (the event's time) and ``since`` when
        transcription began: the pace comes from the worker's clock, so that events replayed
        in a burst to a late watcher still give an honest estimate."""
        if total <= 0:
            return
        if at is not None and since is not None:
            elapsed = at - since
        else:
            now = time.monotonic()
            if self._started is None:
                self._started = now
            elapsed = now - self._started
        left = time_left(elapsed, processed, total)
        remaining = f"about {clock(left)} left" if left is not None else "estimating time left"
        if self._err.is_terminal:
            if self._bar is None:
                # redirect_stdout: transcript lines printed meanwhile go above the bar.
                self._bar = Progress(
                    TextColumn("transcribing"),
                    BarColumn(),
                    TaskProgressColumn(),
                    TextColumn("{task.fields[remaining]}"),
                    console=self._err,
                    transient=True,
                    redirect_stdout=True,
                )
                self._bar.start()
                self._task = self._bar.add_task("transcribing", total=total, remaining="")
            assert self._task is not None
            self._bar.update(self._task, completed=processed, total=total, remaining=remaining)
            return
        tenth = int(10 * min(processed / total, 1.0))
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self._err.print(
                f"transcribing {processed / total:.0%} ({clock(processed)} of "
                f"{clock(total)} of audio), {remaining}",
                markup=False,
                highlight=False,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
