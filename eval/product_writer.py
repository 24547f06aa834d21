"""Notes through the product: a real Consulta server (embedded default, in this process) and
the same client path as `consulta note` (CreateJob with the transcript text, WatchJob to the
end, GetSummary)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from consulta.v1 import job_pb2

from app.processes import start_server
from clients.client import ConsultaClient, is_terminal
from core.auth import mint_token
from core.codec import TEMPLATE_TO_PB
from core.settings import Settings
from eval.template import EVAL_TEMPLATE
from server.app import RunningServer


class ProductWriter:
    """Starts the server on first use; ``aclose`` stops it."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="consulta-eval-")
        self._server: RunningServer | None = None
        self._client: ConsultaClient | None = None

    async def _connect(self) -> ConsultaClient:
        if self._client is None:
            secret = "eval-" + "x" * 40
            settings = Settings(
                data_dir=Path(self._folder.name),
                grpc_listen="127.0.0.1:0",
                http_listen="127.0.0.1:0",
                jwt_secret=secret,
            )
            self._server = await start_server(settings)
            self._client = await ConsultaClient(
                f"127.0.0.1:{self._server.port}",
                token=mint_token(secret, "eval", ttl_seconds=86400),
            ).__aenter__()
        return self._client

    async def write(self, dialogue: str, language: str) -> str:
        client = await self._connect()
        config = job_pb2.JobConfig(language_code=language, template=TEMPLATE_TO_PB[EVAL_TEMPLATE])
        job = await client.create_job(config, transcript_text=dialogue)
        state = job.state
        async for message in client.watch(job.job_id):
            if message.HasField("event") and message.event.HasField("state_changed"):
                state = message.event.state_changed.state
        if not is_terminal(state) or state != job_pb2.JOB_STATE_COMPLETED:
            raise RuntimeError(f"job {job.job_id} ended in state {state}")
        return (await client.get_summary(job.job_id)).rendered_text

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._server is not None:
            await self._server.stop(1)
        self._folder.cleanup()
