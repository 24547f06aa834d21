"""How a live job's events look: interim text changing in place on a terminal, final lines
only when piped, one JSON line per event with --json."""

from __future__ import annotations

import io
import json

from consulta.v1 import job_pb2
from consulta.v1 import transcription_service_pb2 as pb
from rich.console import Console

from clients.live_render import ERASE_LINE, LivePrinter, fit


def interim(sequence: int, text: str, end: float) -> pb.WatchJobResponse:
    return pb.WatchJobResponse(
        event=pb.JobEvent(
            sequence=sequence,
            interim=pb.InterimTranscript(text=text, start_seconds=0.0, end_seconds=end),
        )
    )


EVENTS = [
    pb.WatchJobResponse(
        event=pb.JobEvent(
            sequence=1, state_changed=pb.StateChanged(state=job_pb2.JOB_STATE_RECEIVING)
        )
    ),
    interim(2, "I have", 1.0),
    interim(3, "I have had a", 2.0),
    pb.WatchJobResponse(
        event=pb.JobEvent(
            sequence=4,
            segment=job_pb2.TranscriptSegment(
                segment_id=0,
                start_seconds=0.0,
                end_seconds=2.5,
                speaker=job_pb2.SPEAKER_ROLE_PATIENT,
                text="I have had a cough.",
            ),
        )
    ),
    interim(5, "For three", 3.5),
    pb.WatchJobResponse(
        event=pb.JobEvent(
            sequence=6, progress=pb.TranscriptionProgress(processed_seconds=3, total_seconds=4)
        )
    ),
]
FINAL_LINE = "[00:00.0 - 00:02.5] Patient: I have had a cough."


def render(*, tty: bool, as_json: bool = False, width: int = 80) -> tuple[str, str]:
    out = io.StringIO()
    err = io.StringIO()
    printer = LivePrinter(out, Console(file=err, width=100), as_json=as_json, tty=tty, width=width)
    printer.use_job(job_pb2.Job(job_id="j1", state=job_pb2.JOB_STATE_RECEIVING))
    for message in EVENTS:
        printer.show(message)
    printer.close()
    return out.getvalue(), err.getvalue()


def test_on_a_terminal_interim_text_changes_in_place_and_the_final_line_replaces_it() -> None:
    out, err = render(tty=True)

    assert out == (
        ERASE_LINE
        + "[00:00.0 - 00:01.0] I have"
        + ERASE_LINE
        + "[00:00.0 - 00:02.0] I have had a"
        + ERASE_LINE  # erased before the final line is written in its place
        + FINAL_LINE
        + "\n"
        + ERASE_LINE
        + "[00:00.0 - 00:03.5] For three"
        + ERASE_LINE  # close() leaves no half line behind
    )
    assert "receiving" in err


def test_piped_output_gets_only_final_lines() -> None:
    out, err = render(tty=False)

    assert out == FINAL_LINE + "\n"
    assert "receiving" in err


def test_json_prints_every_event_as_one_line() -> None:
    out, _ = render(tty=True, as_json=True)

    lines = [json.loads(line) for line in out.splitlines()]
    assert [int(line["event"]["sequence"]) for line in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[1]["event"]["interim"]["text"] == "I have"
    assert lines[3]["event"]["segment"]["text"] == "I have had a cough."
    assert "\r" not in out


def test_a_long_interim_keeps_its_newest_words_within_the_width() -> None:
    out = io.StringIO()
    printer = LivePrinter(out, Console(file=io.StringIO()), as_json=False, tty=True, width=40)
    printer.show(interim(1, "one two three four five six seven eight nine ten", 9.0))

    drawn = out.getvalue().removeprefix(ERASE_LINE)
    assert len(drawn) == 39
    assert drawn.endswith("nine ten") and "…" in drawn
    assert fit("short", 10) == "short"
