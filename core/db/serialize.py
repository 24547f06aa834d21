"""JSON forms of transcripts and notes as the database keeps them."""

from __future__ import annotations

import json
from typing import Any

from core.domain import (
    Note,
    NoteSection,
    NoteSentence,
    Segment,
    Speaker,
    Template,
    TermCorrection,
    Transcript,
)


def transcript_to_json(transcript: Transcript) -> str:
    return json.dumps(
        [
            {"id": s.id, "start": s.start, "end": s.end, "text": s.text, "speaker": s.speaker}
            for s in transcript.segments
        ],
        ensure_ascii=False,
    )


def transcript_from_json(raw: str, *, language: str, engine: str) -> Transcript:
    items: list[dict[str, Any]] = json.loads(raw)
    segments = tuple(
        Segment(
            id=int(i["id"]),
            start=float(i["start"]),
            end=float(i["end"]),
            text=str(i["text"]),
            speaker=Speaker(i.get("speaker", "unknown")),
        )
        for i in items
    )
    return Transcript(segments=segments, language=language, engine=engine)


def _sentence_to_json(sentence: NoteSentence) -> dict[str, Any]:
    found: dict[str, Any] = {"text": sentence.text, "evidence": list(sentence.evidence)}
    if sentence.corrections:
        found["corrections"] = [
            {"heard": c.heard, "written": c.written, "source": c.source}
            for c in sentence.corrections
        ]
    return found


def note_to_json(note: Note) -> str:
    return json.dumps(
        [
            {
                "key": s.key,
                "title": s.title,
                "sentences": [_sentence_to_json(t) for t in s.sentences],
            }
            for s in note.sections
        ],
        ensure_ascii=False,
    )


def note_from_json(raw: str, *, template: str, language: str, engine: str, rendered: str) -> Note:
    items: list[dict[str, Any]] = json.loads(raw)
    sections = tuple(
        NoteSection(
            key=str(i["key"]),
            title=str(i["title"]),
            sentences=tuple(
                NoteSentence(
                    text=str(t["text"]),
                    evidence=tuple(int(e) for e in t["evidence"]),
                    # Notes stored before corrections existed have none.
                    corrections=tuple(
                        TermCorrection(str(c["heard"]), str(c["written"]), str(c["source"]))
                        for c in t.get("corrections", ())
                    ),
                )
                for t in i["sentences"]
            ),
        )
        for i in items
    )
    return Note(
        template=Template(template),
        language=language,
        sections=sections,
        engine=engine,
        rendered=rendered,
    )
