"""OpenAI live transcription: a Realtime *transcription* session over a websocket.

The ``openai`` engine in live mode. One :class:`OpenAIRealtimeSession` per live job:

1. It connects through the official SDK (``client.realtime.connect``) to
   ``<CONSULTA_OPENAI_BASE_URL>/realtime?intent=transcription``, with the key from the
   environment or Secrets Manager, under the provider rate limit and retry policy: a connect
   refused with 429, 408/409 or 5xx (``retry-after`` honoured), a refused or timed-out
   connection are retried as the batch adapter's requests are.
2. ``session.update`` sets a transcription session: 24 kHz PCM16 (the only PCM rate the API
   takes; the 16 kHz samples pushed are upsampled), the model of
   ``CONSULTA_OPENAI_TRANSCRIBE_MODEL`` (gpt-4o-transcribe), the language, a prompt made of
   the job's vocabulary, and server VAD turn detection.
3. Samples go out as ``input_audio_buffer.append`` (base64, at most a second each).
   ``input_audio_buffer.speech_started``/``speech_stopped`` give each turn's times,
   ``conversation.item.input_audio_transcription.delta`` interim text (the turn's text so
   far), ``...completed`` the final text; see ``realtime_turns.py``.
4. ``finish`` appends enough silence for the VAD to close a turn still open, then commits
   the buffer. The server's answer to that commit (``input_audio_buffer.committed`` for an
   item no speech announced, or the error ``input_audio_buffer_commit_empty``) says it has
   seen all the audio; once every turn is settled ``results`` ends and the socket is closed.
   Text the server makes of that silent tail is dropped: its VAD heard no speech there.

A connection that drops mid-session, a retryable ``error`` event (``server_error``, a rate
limit, an expired session) or a transcription that failed on the server's side does not end
the job: a new connection is fed again the audio from the end of the last final result (kept
in memory until then), so turns not yet settled are heard again and no final is lost or
repeated; only interim text may be replaced. After ``CONSULTA_PROVIDER_MAX_ATTEMPTS`` such
failures in a row without a new final the session fails with a RetryableEngineError (the
worker then retries the job from its last stored segment). Other ``error`` events (a bad
model, language or key) fail it with a PermanentEngineError carrying the provider's message,
scrubbed of keys. A live session lasts as long as the visit, so the whole-call deadline of the
batch engines does not apply; once the audio has ended, a server silent for
``CONSULTA_PROVIDER_TIMEOUT_SECONDS`` counts as a dropped connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import openai
from openai.types.realtime import (
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    RealtimeErrorEvent,
    RealtimeServerEvent,
)
from websockets.exceptions import ConnectionClosed

from workers.engines.base import TranscribeOptions
from workers.engines.cloud.context import ProviderContext
from workers.engines.cloud.errors import translate
from workers.engines.cloud.limits import ProviderLimiter, limiter_for
from workers.engines.cloud.retry import call_with_retries
from workers.engines.cloud.settings import ProviderSettings
from workers.engines.errors import EngineError, RetryableEngineError
from workers.engines.live import LiveResult, LiveSession, LiveTranscriber
from workers.engines.transcribers.openai import openai_client
from workers.engines.transcribers.realtime_turns import (
    PCM_RATE,
    RetainedAudio,
    TurnTracker,
    Upsampler,
)
from workers.engines.transcribers.realtime_wire import (
    PREFIX_PADDING_MS,
    PROVIDER,
    SILENCE_DURATION_MS,
    Interrupted,
    connect,
    error_event,
    transcription_session,
)

if TYPE_CHECKING:
    from openai.resources.realtime.realtime import AsyncRealtimeConnection

log = logging.getLogger(__name__)

#: Silence appended at ``finish`` so that the VAD closes a turn still open.
_TAIL_MS = SILENCE_DURATION_MS + 300
#: While nothing is heard, audio older than this is not kept for a replacement connection.
_IDLE_KEEP_SAMPLES = 10 * PCM_RATE
#: A server that settles nothing for this long is not waited on with ever more memory.
MAX_RETAINED_SECONDS = 600.0
_APPEND_BYTES = PCM_RATE * 2
#: Pushed blocks waiting to be sent; ``push`` waits beyond this.
_QUEUE_BLOCKS = 64
_COMMIT_EMPTY = "input_audio_buffer_commit_empty"


class OpenAIRealtimeTranscriber(LiveTranscriber):
    """Live transcription by OpenAI's Realtime API; one websocket per session."""

    def __init__(self, context: ProviderContext) -> None:
        s = context.settings
        self.context = context
        self.model = s.openai_transcribe_model
        self.name = f"openai:{self.model}"
        self.limiter: ProviderLimiter = limiter_for(
            "openai", s.openai_requests_per_minute, s.openai_tokens_per_minute
        )
        self._client: openai.AsyncOpenAI | None = None

    async def client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            key = await self.context.keys.get("OPENAI_API_KEY")
            self._client = openai_client(self.context, key, self.context.settings.openai_base_url)
        return self._client

    def open_session(
        self, options: TranscribeOptions, *, start_at: float = 0.0, said: str = ""
    ) -> LiveSession:
        # The Realtime session keeps its own context; a takeover starts it afresh.
        return OpenAIRealtimeSession(self, options, start_at)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def openai_live_transcriber(
    settings: ProviderSettings | None = None, *, context: ProviderContext | None = None
) -> OpenAIRealtimeTranscriber:
    """The ``openai`` live engine, from ``context`` or else ``settings`` (default: read the
    ``CONSULTA_*`` environment)."""
    ctx = context or ProviderContext.from_settings(settings or ProviderSettings())
    return OpenAIRealtimeTranscriber(ctx)


class OpenAIRealtimeSession(LiveSession):
    """One job's live transcription: a task owns the socket (and its replacements)."""

    def __init__(
        self, engine: OpenAIRealtimeTranscriber, options: TranscribeOptions, start_at: float
    ) -> None:
        self._engine = engine
        self._settings = engine.context.settings
        self._options = options
        self._audio: asyncio.Queue[npt.NDArray[np.float32] | None] = asyncio.Queue(_QUEUE_BLOCKS)
        self._results: asyncio.Queue[LiveResult | EngineError | None] = asyncio.Queue()
        self._tracker = TurnTracker(
            start_at=start_at, prefix_ms=PREFIX_PADDING_MS, silence_ms=SILENCE_DURATION_MS
        )
        self._upsampler = Upsampler()
        self._retained = RetainedAudio()
        self._finishing = False
        self._input_done = False
        self._ended = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._sender_error: BaseException | None = None
        self._error: EngineError | None = None

    # --- LiveSession -------------------------------------------------------------------

    async def push(self, pcm: npt.NDArray[np.float32]) -> None:
        if self._finishing:
            raise RuntimeError("push after finish")
        # A copy: the caller may reuse its buffer while the block waits in the queue.
        await self._put(np.array(pcm, dtype=np.float32).reshape(-1))

    async def finish(self) -> None:
        if not self._finishing:
            self._finishing = True
            await self._put(None)

    async def results(self) -> AsyncIterator[LiveResult]:
        self._start()
        while True:
            item = await self._results.get()
            if item is None:
                return
            if isinstance(item, EngineError):
                raise item
            yield item

    async def aclose(self) -> None:
        if self._runner is not None and not self._runner.done():
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    # --- plumbing ----------------------------------------------------------------------

    def _start(self) -> asyncio.Task[None]:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="openai-realtime-session")
        return self._runner

    async def _put(self, item: npt.NDArray[np.float32] | None) -> None:
        """Queue ``item`` for the socket, unless the session has failed (its error then)."""
        runner = self._start()
        if not runner.done():
            put = asyncio.ensure_future(self._audio.put(item))
            try:
                await asyncio.wait({put, runner}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                put.cancel()  # no-op once put; else the item is not queued behind our back
        if self._error is not None:
            raise self._error

    def _secrets(self) -> tuple[str, ...]:
        return self._engine.context.keys.known()

    async def _run(self) -> None:
        try:
            await self._connections()
        except asyncio.CancelledError:
            # aclose: a reader still waiting must not take the end for a finished session.
            self._fail(RetryableEngineError("The live session was closed before it finished."))
            raise
        except EngineError as exc:
            self._fail(exc)
        except Exception as exc:
            self._fail(translate(PROVIDER, exc, self._secrets()))
        else:
            self._results.put_nowait(None)

    def _fail(self, exc: EngineError) -> None:
        self._error = exc
        self._results.put_nowait(exc)

    async def _connections(self) -> None:
        """Connect, serve until done; on a drop, connect again and resume."""
        policy = self._engine.context.policy
        failures = 0
        while True:
            conn = await call_with_retries(PROVIDER, policy, self._connect, secrets=self._secrets())
            finals = self._tracker.finals
            try:
                await self._serve(conn)
                return
            except Interrupted as exc:
                failures = 1 if self._tracker.finals > finals else failures + 1
                if failures >= policy.max_attempts:
                    raise RetryableEngineError(
                        f"{PROVIDER}'s live transcription failed {failures} times in a row "
                        f"without a new result: {exc.reason}",
                        retry_after=exc.retry_after,
                    ) from exc
                ceiling = min(
                    policy.max_backoff_seconds,
                    policy.initial_backoff_seconds * 2 ** (failures - 1),
                )
                delay = max(random.uniform(0, ceiling), exc.retry_after or 0.0)
                log.warning(
                    "%s live transcription interrupted (%s); resuming in %.2fs from %.1fs",
                    PROVIDER,
                    exc.reason,
                    delay,
                    self._tracker.resume / PCM_RATE,
                )
                await asyncio.sleep(delay)
            finally:
                await _hang_up(conn)

    async def _connect(self) -> AsyncRealtimeConnection:
        client = await self._engine.client()
        await self._engine.limiter.acquire()
        limit = self._settings.provider_connect_timeout_seconds
        return await connect(client, within=limit, secrets=self._secrets())

    async def _serve(self, conn: AsyncRealtimeConnection) -> None:
        origin = self._tracker.resume
        self._tracker.new_connection(origin)
        self._sender_error = None
        try:
            await conn.session.update(
                session=transcription_session(self._engine.model, self._options)
            )
        except ConnectionClosed as exc:
            raise Interrupted("the connection closed as the session was set up") from exc
        sender = asyncio.create_task(self._send(conn, origin), name="openai-realtime-send")
        try:
            await self._receive(conn)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    # --- sending -----------------------------------------------------------------------

    async def _send(self, conn: AsyncRealtimeConnection, origin: int) -> None:
        """Audio from ``origin`` (kept) then from the queue; at the end, the tail commit."""
        try:
            for pcm in self._retained.since(origin):
                await self._append(conn, pcm)
            while not self._input_done:
                block = await self._audio.get()
                if block is None:
                    self._input_done = True
                    self._ended.set()
                    pcm = self._keep(self._upsampler.flush())
                else:
                    pcm = self._keep(self._upsampler.push(block))
                    self._tracker.idle_resume(_IDLE_KEEP_SAMPLES)
                    self._retained.trim(self._tracker.resume)
                await self._append(conn, pcm)
            await self._append(conn, bytes(_TAIL_MS * PCM_RATE // 1000 * 2))
            await conn.input_audio_buffer.commit()
        except ConnectionClosed:
            return  # the receiver sees the same closed socket and resumes
        except Exception as exc:
            self._sender_error = exc
            await conn.close()

    def _keep(self, pcm: bytes) -> bytes:
        self._retained.add(pcm)
        self._tracker.sent = self._retained.end
        if self._retained.seconds() > MAX_RETAINED_SECONDS:
            raise RetryableEngineError(
                f"{PROVIDER} settled no utterance in {MAX_RETAINED_SECONDS:g} s of live audio."
            )
        return pcm

    @staticmethod
    async def _append(conn: AsyncRealtimeConnection, pcm: bytes) -> None:
        for lo in range(0, len(pcm), _APPEND_BYTES):
            piece = base64.b64encode(pcm[lo : lo + _APPEND_BYTES]).decode("ascii")
            await conn.input_audio_buffer.append(audio=piece)

    # --- receiving ---------------------------------------------------------------------

    async def _receive(self, conn: AsyncRealtimeConnection) -> None:
        """Events until the input has ended, the server has seen it all and all is settled.

        While audio still comes a quiet server is normal (nobody speaks); once it has ended,
        ``provider_timeout_seconds`` without an event counts as a dropped connection.
        """
        seen_all = False
        ended: asyncio.Future[Any] = asyncio.ensure_future(self._ended.wait())
        recv: asyncio.Future[RealtimeServerEvent] | None = None
        try:
            while not (self._input_done and seen_all and not self._tracker.pending):
                if recv is None:
                    recv = asyncio.ensure_future(conn.recv())  # cancelling it loses nothing
                if not self._input_done:
                    either: set[asyncio.Future[Any]] = {recv, ended}
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                    if not recv.done():
                        continue  # the audio just ended: wait again, now with a limit
                limit = self._settings.provider_timeout_seconds
                done, _ = await asyncio.wait({recv}, timeout=limit)
                if not done:
                    raise Interrupted(f"no answer for {limit:g} s after the audio ended")
                try:
                    event = recv.result()
                except ConnectionClosed as exc:
                    if self._sender_error is not None:
                        raise self._sender_error from exc
                    raise Interrupted("the connection closed") from exc
                recv = None
                seen_all = self._handle(event) or seen_all
        finally:
            ended.cancel()
            if recv is not None:
                recv.cancel()
                await asyncio.gather(recv, return_exceptions=True)

    def _handle(self, event: RealtimeServerEvent) -> bool:
        """Act on one server event; True when it answers the final commit."""
        # The SDK builds unknown event types into whichever union member fits, so the type
        # field decides, not the class.
        kind = event.type
        tracker = self._tracker
        out: list[LiveResult] = []
        if kind == "input_audio_buffer.speech_started" and isinstance(
            event, InputAudioBufferSpeechStartedEvent
        ):
            out = tracker.speech_started(event.item_id, int(event.audio_start_ms))
        elif kind == "input_audio_buffer.speech_stopped" and isinstance(
            event, InputAudioBufferSpeechStoppedEvent
        ):
            out = tracker.speech_stopped(event.item_id, int(event.audio_end_ms))
        elif kind == "input_audio_buffer.committed" and isinstance(
            event, InputAudioBufferCommittedEvent
        ):
            return self._input_done and tracker.committed(event.item_id)
        elif kind == "conversation.item.input_audio_transcription.delta" and isinstance(
            event, ConversationItemInputAudioTranscriptionDeltaEvent
        ):
            out = tracker.delta(event.item_id, event.delta or "")
        elif kind == "conversation.item.input_audio_transcription.completed" and isinstance(
            event, ConversationItemInputAudioTranscriptionCompletedEvent
        ):
            out = tracker.completed(event.item_id, event.transcript or "")
        elif kind == "conversation.item.input_audio_transcription.failed" and isinstance(
            event, ConversationItemInputAudioTranscriptionFailedEvent
        ):
            if tracker.knows(event.item_id):
                err = event.error
                raise error_event(
                    err.type or "", err.code or "", err.message or "", self._secrets()
                )
        elif kind == "error" and isinstance(event, RealtimeErrorEvent):
            err2 = event.error
            if err2.code == _COMMIT_EMPTY and self._input_done:
                return True
            raise error_event(err2.type, err2.code or "", err2.message, self._secrets())
        # Other events (session.created/updated, conversation.item.added ...) carry nothing
        # a transcript needs.
        for result in out:
            self._results.put_nowait(result)
        if out:
            self._retained.trim(tracker.resume)
        return False


async def _hang_up(conn: AsyncRealtimeConnection) -> None:
    """Close ``conn``, reading (and dropping) what still arrives meanwhile: unread events
    pause the socket's reading, and the server's closing frame would wait behind them until
    the close times out."""

    async def drain() -> None:
        with contextlib.suppress(Exception):
            while True:
                await conn.recv_bytes()

    drainer = asyncio.ensure_future(drain())
    try:
        with contextlib.suppress(Exception):
            await conn.close()
    finally:
        drainer.cancel()
        await asyncio.gather(drainer, return_exceptions=True)
