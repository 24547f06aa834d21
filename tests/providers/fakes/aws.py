"""AWS services as botocore sees them: Bedrock runtime's ConverseStream and Secrets Manager.

- ``POST /model/{modelId}/converse-stream`` (rest-json): an event stream of ``messageStart``,
  ``contentBlockDelta`` (``reasoningContent`` first, then ``text``), ``contentBlockStop``,
  ``messageStop`` and ``metadata``; errors as HTTP status with ``x-amzn-ErrorType``, or as
  exception events inside the stream.
- ``POST /`` with ``X-Amz-Target: secretsmanager.GetSecretValue`` (json 1.1).
Requests are signed by botocore; the fakes record but do not check signatures.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from . import eventstream
from .server import FakeServer, Status


class FakeBedrock(FakeServer):
    """Streams ``reply`` (and ``reasoning``) back for any model id."""

    def __init__(self) -> None:
        super().__init__()
        self.reply = "Hello."
        self.reasoning = ""
        self.piece = 7
        self.stream_exception = "modelStreamErrorException"  # what a BreakStream sends
        self.app.router.add_post("/model/{model_id}/converse-stream", self.converse_stream)

    def reset(self) -> None:
        super().reset()
        self.reply = "Hello."
        self.reasoning = ""
        self.stream_exception = "modelStreamErrorException"

    async def fault(self) -> web.StreamResponse | None:
        if self.faults and isinstance(self.faults[0], Status):
            # AWS names the error in a header; botocore reads the code from it.
            status = self.faults.popleft()
            assert isinstance(status, Status)
            kind = {429: "ThrottlingException", 500: "InternalServerException"}.get(
                status.code,
                "ServiceUnavailableException" if status.code >= 500 else "ValidationException",
            )
            headers = {
                "x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
            }
            headers.update(status.headers)
            body = status.body or {"message": f"{kind} from the fake"}
            return web.json_response(body, status=status.code, headers=headers)
        return await super().fault()

    async def converse_stream(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.record(request, {"model_id": request.match_info["model_id"], **body})
        if (faulty := await self.fault()) is not None:
            return faulty
        broken = self.take_break()
        frames: list[bytes] = [eventstream.event("messageStart", {"role": "assistant"})]
        for i in range(0, len(self.reasoning), self.piece):
            delta = {"reasoningContent": {"text": self.reasoning[i : i + self.piece]}}
            frames.append(
                eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta})
            )
        for i in range(0, len(self.reply), self.piece):
            delta_text: dict[str, Any] = {"text": self.reply[i : i + self.piece]}
            frames.append(
                eventstream.event(
                    "contentBlockDelta", {"contentBlockIndex": 1, "delta": delta_text}
                )
            )
        frames += [
            eventstream.event("contentBlockStop", {"contentBlockIndex": 1}),
            eventstream.event("messageStop", {"stopReason": "end_turn"}),
            eventstream.event(
                "metadata",
                {
                    "usage": {"inputTokens": 10, "outputTokens": 10, "totalTokens": 20},
                    "metrics": {"latencyMs": 5},
                },
            ),
        ]
        response = web.StreamResponse(
            headers={"Content-Type": "application/vnd.amazon.eventstream"}
        )
        await response.prepare(request)
        for i, data in enumerate(frames):
            if broken is not None and i == broken.after:
                await response.write(
                    eventstream.exception(self.stream_exception, "The model stream broke.")
                )
                break
            await response.write(data)
        await response.write_eof()
        return response


class FakeSecretsManager(FakeServer):
    """Holds ``secrets`` by id; answers GetSecretValue, ResourceNotFound otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, str] = {}
        self.app.router.add_post("/", self.dispatch)

    def reset(self) -> None:
        super().reset()
        self.secrets = {}

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        target = request.headers.get("X-Amz-Target", "")
        body = json.loads(await request.read() or b"{}")
        self.record(request, {"target": target, **body})
        if (faulty := await self.fault()) is not None:
            return faulty
        if target != "secretsmanager.GetSecretValue":
            return _aws_error(400, "InvalidRequestException", f"This fake does not do {target}.")
        secret_id = body.get("SecretId", "")
        if secret_id not in self.secrets:
            return _aws_error(
                400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."
            )
        return web.json_response(
            {
                "ARN": f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{secret_id}",
                "Name": secret_id,
                "VersionId": "v1",
                "SecretString": self.secrets[secret_id],
                "VersionStages": ["AWSCURRENT"],
                "CreatedDate": 1700000000.0,
            },
            content_type="application/x-amz-json-1.1",
        )


def _aws_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"__type": code, "message": message},
        status=status,
        content_type="application/x-amz-json-1.1",
    )
