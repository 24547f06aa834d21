"""OpenAI's HTTP API as the SDK sees it, also served under Groq's ``/openai/v1`` prefix.

- ``POST /v1/audio/transcriptions``: multipart form; ``json``/``verbose_json``/
  ``diarized_json`` answers, or server-sent ``transcript.text.*`` events when ``stream=true``.
- ``POST /v1/chat/completions``: JSON body; ``chat.completion.chunk`` events when streaming,
  ending with ``data: [DONE]``, reasoning in ``reasoning_content`` (vLLM) and ``reasoning``
  (Groq) fields.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any

from aiohttp import web

from .server import FakeServer
from .tones import Heard, hear


class FakeOpenAI(FakeServer):
    """Transcribes tone bursts (see ``tones.py``) and streams a scripted chat reply."""

    def __init__(self) -> None:
        super().__init__()
        self.chat_reply = "Hello."
        self.chat_reasoning = ""
        self.chat_piece = 7  # characters per streamed chunk: small, so tags split across them
        self.chat_delay = 0.0  # pause between streamed chunks, for a provider that drips
        # Transcription requests wait (up to 2 s) until this many are in flight, so a test
        # can see that requests overlap, and by how much at most.
        self.hold_until_in_flight = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._more_in_flight = asyncio.Condition()
        for prefix in ("/v1", "/openai/v1"):
            self.app.router.add_post(f"{prefix}/audio/transcriptions", self.transcriptions)
            self.app.router.add_post(f"{prefix}/chat/completions", self.chat)

    def reset(self) -> None:
        super().reset()
        self.chat_reply = "Hello."
        self.chat_reasoning = ""
        self.chat_piece = 7
        self.chat_delay = 0.0
        self.hold_until_in_flight = 0
        # in_flight is a live count (released hangs still finish), so it is never reset.
        self.max_in_flight = 0

    async def transcriptions(self, request: web.Request) -> web.StreamResponse:
        async with self._more_in_flight:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._more_in_flight.notify_all()
            # The last chunks of a recording never fill the window: they go after 2 s.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._more_in_flight.wait_for(
                        lambda: self.in_flight >= self.hold_until_in_flight
                    ),
                    timeout=2.0,
                )
        try:
            return await self._transcriptions(request)
        finally:
            self.in_flight -= 1

    async def _transcriptions(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        upload = form.get("file")
        data = upload.file.read() if isinstance(upload, web.FileField) else b""
        fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        fields["known_speaker_names"] = form.getall("known_speaker_names[]", [])
        fields["file_bytes"] = len(data)
        fields["filename"] = upload.filename if isinstance(upload, web.FileField) else ""
        self.record(request, fields)
        if (faulty := await self.fault()) is not None:
            return faulty
        model = str(fields.get("model", ""))
        stream = fields.get("stream") == "true"
        duration, heard = hear(data)
        if model.startswith("whisper"):
            if stream or fields.get("response_format") != "verbose_json":
                return _error(400, "This fake Groq only answers verbose_json without stream.")
            return web.json_response(_verbose(duration, heard, fields.get("language")))
        diarize = "diarize" in model
        try:
            labels = _speaker_labels(
                form.getall("known_speaker_names[]", []),
                form.getall("known_speaker_references[]", []),
            )
        except ValueError as exc:
            return _error(400, str(exc))
        turns: list[tuple[str, Heard, str]] = []
        for h in heard:
            voice = _voice(h)
            if voice not in labels:  # unknown voices get letters in order of appearance
                labels[voice] = chr(ord("A") + sum(len(v) == 1 for v in labels.values()))
            # The low voice asks, the high voice answers (see _voice).
            turns.append((labels[voice], h, f"{h.word}?" if voice == "low" else f"{h.word}."))
        text = " ".join(t for _, _, t in turns)
        if not stream:
            if diarize:
                return web.json_response(
                    {
                        "task": "transcribe",
                        "duration": duration,
                        "text": text,
                        "segments": [_seg(i, s, h, t) for i, (s, h, t) in enumerate(turns)],
                    }
                )
            return web.json_response({"text": text})
        events: list[dict[str, Any]] = []
        for i, (speaker, h, t) in enumerate(turns):
            for word in t.split(" "):
                delta: dict[str, Any] = {"type": "transcript.text.delta", "delta": word + " "}
                if diarize:
                    delta["segment_id"] = f"seg_{i}"
                events.append(delta)
            if diarize:
                events.append(_seg(i, speaker, h, t))
        done: dict[str, Any] = {"type": "transcript.text.done", "text": text}
        if not fields.get("language"):
            done["languages"] = [{"code": "en"}]
        events.append(done)
        return await self._sse(request, [json.dumps(e) for e in events], done_marker=False)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.record(request, body)
        if (faulty := await self.fault()) is not None:
            return faulty
        model = body.get("model", "")
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": self.chat_reply},
                            "finish_reason": "stop",
                        }
                    ],
                }
            )
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        for i in range(0, len(self.chat_reasoning), self.chat_piece):
            piece = self.chat_reasoning[i : i + self.chat_piece]
            deltas.append({"reasoning_content": piece, "reasoning": piece})
        for i in range(0, len(self.chat_reply), self.chat_piece):
            deltas.append({"content": self.chat_reply[i : i + self.chat_piece]})
        chunks = [
            json.dumps(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "delta": d, "finish_reason": None}],
                }
            )
            for d in deltas
        ]
        chunks.append(
            json.dumps(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
            )
        )
        return await self._sse(request, chunks, done_marker=True, delay=self.chat_delay)

    async def _sse(
        self, request: web.Request, datas: list[str], *, done_marker: bool, delay: float = 0.0
    ) -> web.StreamResponse:
        broken = self.take_break()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i, data in enumerate(datas):
            if broken is not None and i == broken.after:
                error = {"error": {"message": "The server is overloaded.", "type": "server_error"}}
                await response.write(f"data: {json.dumps(error)}\n\n".encode())
                await response.write_eof()
                return response
            await response.write(f"data: {data}\n\n".encode())
            if delay:
                await asyncio.sleep(delay)  # the fake provider's pace, not the test's
        if done_marker:
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _voice(h: Heard) -> str:
    """The fake's idea of who speaks: tones under 500 Hz are one voice, the rest another."""
    return "low" if h.freq < 500 else "high"


def _speaker_labels(names: list[Any], references: list[Any]) -> dict[str, str]:
    """Voice -> name for the known speakers, recognised from their reference clips."""
    labels: dict[str, str] = {}
    for name, reference in zip(names, references, strict=True):
        header, _, encoded = str(reference).partition(",")
        if header != "data:audio/wav;base64":
            raise ValueError("known_speaker_references must be audio data URLs.")
        duration, clip = hear(base64.b64decode(encoded))
        if not 2.0 <= duration <= 10.0 or not clip:
            raise ValueError(
                f"A speaker reference must hold 2 to 10 s of speech, not {duration:.1f} s."
            )
        labels[_voice(clip[0])] = str(name)
    return labels


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error"}}, status=status
    )


def _seg(i: int, speaker: str, h: Any, text: str) -> dict[str, Any]:
    return {
        "type": "transcript.text.segment",
        "id": f"seg_{i}",
        "start": h.start,
        "end": h.end,
        "speaker": speaker,
        "text": text,
    }


def _verbose(duration: float, heard: list[Any], language: Any) -> dict[str, Any]:
    segments = [
        {
            "id": i,
            "seek": 0,
            "start": h.start,
            "end": h.end,
            "text": f" {h.word}.",
            "tokens": [1, 2],
            "temperature": 0.0,
            "avg_logprob": -0.1,
            "compression_ratio": 1.0,
            "no_speech_prob": 0.01,
        }
        for i, h in enumerate(heard)
    ]
    return {
        "task": "transcribe",
        "language": "Spanish" if language == "es" else "English",
        "duration": duration,
        "text": " ".join(s["text"].strip() for s in segments),
        "segments": segments,
    }
