"""OpenAI's Realtime transcription API as the SDK sees it: a websocket at ``GET /v1/realtime``.

It checks what a real server would refuse: ``intent=transcription`` in the query (and no
``model``), a ``session.update`` of type ``transcription`` with 24 kHz PCM and server VAD before
any audio, base64 PCM16 in ``input_audio_buffer.append``. It answers from the audio it
received: a VAD over 10 ms frames finds loud stretches and sends
``input_audio_buffer.speech_started`` (``audio_start_ms`` includes the prefix padding),
``speech_stopped`` once the session's silence has passed (``audio_end_ms`` includes it),
``committed``, then the turn's transcription as deltas and ``completed``. A turn is "heard"
as its tone's pitch (``tone440.``; see ``tones.py``), so audio sent at the wrong rate is heard
at the wrong pitch. A commit without speech gives ``input_audio_buffer_commit_empty`` when
under 100 ms of audio wait, else an item transcribed as ``Plan.tail_text``.

Faults: ``faults`` as the HTTP fakes (a :class:`Status` refuses the handshake); and each
connection follows the next :class:`Plan` queued in ``plans`` (or the default one): drop the
connection after some finals, send an ``error`` event, complete turns out of order.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from .server import FakeServer

RATE = 24_000
FRAME = RATE // 100
LOUD = 0.05 * 32767


@dataclass(frozen=True, slots=True)
class Plan:
    """How one connection misbehaves."""

    #: Close the TCP connection (no websocket close frame) after this many completed turns.
    drop_after_finals: int | None = None
    #: With ``drop_after_finals``: drop once the next turn's deltas are out, before its end.
    drop_mid_turn: bool = False
    #: Send ``error`` as an error event after this many completed turns (0: at once).
    error_after_finals: int | None = None
    error: dict[str, Any] = field(default_factory=dict)
    #: Hold the first turn's completion until the second one's is out.
    hold_first: bool = False
    #: What a committed stretch without speech is transcribed as.
    tail_text: str = ""
    #: Take everything and answer nothing (a server that hangs).
    mute: bool = False


@dataclass(slots=True)
class Connection:
    """What one websocket received."""

    query: dict[str, str]
    headers: dict[str, str]
    sessions: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    commits: int = 0
    finals: int = 0
    closed_by_client: bool = False
    dropped: bool = False

    def seconds(self) -> float:
        return len(self.audio) / 2 / RATE


class FakeRealtime(FakeServer):
    """One websocket route; every connection is recorded in ``connections``."""

    def __init__(self) -> None:
        super().__init__()
        self.plans: deque[Plan] = deque()
        self.connections: list[Connection] = []
        self.app.router.add_get("/v1/realtime", self.realtime)

    def reset(self) -> None:
        super().reset()
        self.plans.clear()
        self.connections.clear()

    async def realtime(self, request: web.Request) -> web.StreamResponse:
        self.record(request, dict(request.query))
        if (faulty := await self.fault()) is not None:
            return faulty
        if request.query.get("intent") != "transcription" or "model" in request.query:
            return web.json_response(
                {"error": {"message": "Expected ?intent=transcription without a model."}},
                status=400,
            )
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Connection(dict(request.query), dict(request.headers))
        self.connections.append(conn)
        session = _Session(ws, conn, self.plans.popleft() if self.plans else Plan(), request)
        await session.send({"type": "session.created", "session": {"type": "transcription"}})
        await session.maybe_error()
        async for message in ws:
            if message.type != WSMsgType.TEXT or session.gone:
                continue
            await session.handle(json.loads(message.data))
        conn.closed_by_client = not session.gone
        return ws


class _Session:
    """The server side of one connection: its VAD state and its plan."""

    def __init__(
        self, ws: web.WebSocketResponse, conn: Connection, plan: Plan, request: web.Request
    ) -> None:
        self.ws = ws
        self.conn = conn
        self.plan = plan
        self.request = request
        self.ids = itertools.count(1)
        self.config: dict[str, Any] | None = None
        self.pcm = np.zeros(0, np.int16)
        self.pos = 0  # samples through the VAD
        self.committed_at = 0  # start of the uncommitted buffer
        self.speech_from: int | None = None
        self.loud_until = 0
        self.item = ""
        self.held: list[dict[str, Any]] = []
        self.errored = False
        self.gone = False

    async def send(self, event: dict[str, Any]) -> None:
        if not self.gone and not self.plan.mute:
            await self.ws.send_str(json.dumps({"event_id": f"event_{next(self.ids)}", **event}))

    def drop(self) -> None:
        self.gone = self.conn.dropped = True
        transport = self.request.transport
        if transport is not None:
            transport.close()

    async def maybe_error(self) -> None:
        at = self.plan.error_after_finals
        if at is not None and not self.errored and self.conn.finals >= at:
            self.errored = True
            await self.send({"type": "error", "error": self.plan.error})

    async def fail(self, message: str, code: str = "invalid_value") -> None:
        error = {"type": "invalid_request_error", "code": code, "message": message}
        await self.send({"type": "error", "error": error})

    async def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "session.update":
            await self.session_update(event.get("session", {}))
        elif kind == "input_audio_buffer.append":
            await self.append(str(event.get("audio", "")))
        elif kind == "input_audio_buffer.commit":
            await self.commit()
        else:
            await self.fail(f"This fake does not take {kind!r} events.")

    async def session_update(self, session: dict[str, Any]) -> None:
        self.conn.sessions.append(session)
        audio_in = session.get("audio", {}).get("input", {})
        vad = audio_in.get("turn_detection") or {}
        if session.get("type") != "transcription":
            await self.fail("Only transcription sessions are served here.")
        elif audio_in.get("format") != {"type": "audio/pcm", "rate": RATE}:
            await self.fail("Expected 24 kHz audio/pcm input.")
        elif vad.get("type") != "server_vad":
            await self.fail("This fake needs server_vad turn detection.")
        elif not audio_in.get("transcription", {}).get("model"):
            await self.fail("A transcription model is required.")
        else:
            self.config = vad
            await self.send({"type": "session.updated", "session": session})

    async def append(self, audio: str) -> None:
        if self.config is None:
            await self.fail("Audio came before the session.update.")
            return
        try:
            data = base64.b64decode(audio, validate=True)
        except binascii.Error:
            await self.fail("input_audio_buffer.append needs base64 audio.")
            return
        self.conn.audio += data
        self.pcm = np.concatenate([self.pcm, np.frombuffer(data, "<i2")])
        await self.vad()

    async def vad(self) -> None:
        assert self.config is not None
        prefix = int(self.config.get("prefix_padding_ms", 300)) * RATE // 1000
        silence = int(self.config.get("silence_duration_ms", 500)) * RATE // 1000
        while self.pos + FRAME <= len(self.pcm) and not self.gone:
            frame = self.pcm[self.pos : self.pos + FRAME].astype(np.float64)
            loud = float(np.sqrt(np.mean(frame**2))) > LOUD
            self.pos += FRAME
            if loud and self.speech_from is None:
                self.speech_from = self.pos - FRAME
                self.item = f"item_{next(self.ids)}"
                start = max(self.committed_at, self.speech_from - prefix)
                await self.send(_started(self.item, _ms(start)))
            if loud:
                self.loud_until = self.pos
            elif self.speech_from is not None and self.pos - self.loud_until >= silence:
                await self.send(_stopped(self.item, _ms(self.pos)))
                await self.end_turn(self.item, self.speech_from, self.loud_until)

    async def commit(self) -> None:
        self.conn.commits += 1
        if self.speech_from is not None:
            # A commit during speech makes an item of its own (no speech_stopped comes).
            await self.end_turn(f"item_{next(self.ids)}", self.speech_from, len(self.pcm))
        elif len(self.pcm) - self.committed_at < RATE // 10:
            await self.fail("Error committing input audio buffer: buffer too small.", _EMPTY)
        else:
            item = f"item_{next(self.ids)}"
            self.committed_at = self.pos = len(self.pcm)
            await self.send(_committed(item))
            await self.transcribe(item, self.plan.tail_text)
        for event in self.held:
            await self.send(event)
        self.held.clear()

    async def end_turn(self, item: str, lo: int, hi: int) -> None:
        self.committed_at = self.pos = max(self.pos, hi)
        self.speech_from = None
        await self.send(_committed(item))
        await self.transcribe(item, _hear(self.pcm[lo:hi]))

    async def transcribe(self, item: str, text: str) -> None:
        plan = self.plan
        pieces = [text[:4], text[4:]] if len(text) > 4 else [text] if text else []
        for piece in pieces:
            await self.send(_delta(item, piece))
        dropping = plan.drop_after_finals is not None and self.conn.finals >= plan.drop_after_finals
        if dropping and plan.drop_mid_turn:
            self.drop()
            return
        completed = _completed(item, text)
        if plan.hold_first and self.conn.finals == 0 and not self.held:
            self.held.append(completed)
        else:
            await self.send(completed)
            for event in self.held:
                await self.send(event)
            self.held.clear()
        self.conn.finals += 1
        await self.maybe_error()
        if (
            plan.drop_after_finals is not None
            and not plan.drop_mid_turn
            and self.conn.finals >= plan.drop_after_finals
        ):
            self.drop()


_EMPTY = "input_audio_buffer_commit_empty"


def _ms(samples: int) -> int:
    return samples * 1000 // RATE


def _hear(pcm: np.ndarray[Any, np.dtype[np.int16]]) -> str:
    """The turn as a tone word: its loudest frequency, in 10 Hz steps."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    freq = float(np.fft.rfftfreq(len(pcm), 1 / RATE)[int(np.argmax(spectrum))])
    return f"tone{int(round(freq / 10) * 10)}."


def _started(item: str, ms: int) -> dict[str, Any]:
    return {"type": "input_audio_buffer.speech_started", "item_id": item, "audio_start_ms": ms}


def _stopped(item: str, ms: int) -> dict[str, Any]:
    return {"type": "input_audio_buffer.speech_stopped", "item_id": item, "audio_end_ms": ms}


def _committed(item: str) -> dict[str, Any]:
    return {"type": "input_audio_buffer.committed", "item_id": item, "previous_item_id": None}


def _delta(item: str, text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.input_audio_transcription.delta",
        "item_id": item,
        "content_index": 0,
        "delta": text,
    }


def _completed(item: str, text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.input_audio_transcription.completed",
        "item_id": item,
        "content_index": 0,
        "transcript": text,
        "usage": {"type": "duration", "seconds": 1.0},
    }
