"""Transport security (issue 10, "Transport"): gRPC and the HTTP side port over TLS, and
mutual TLS as an option, with certificates the tests make. The CLI takes --ca, --cert and
--key.

Only the embedded default: TLS is the server's transport, the same code whatever adapters
run behind it.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import grpc
import pytest
from consulta.v1 import transcription_service_pb2 as pb
from consulta.v1 import transcription_service_pb2_grpc as pb_grpc

from app.devstack.certs import Issued, make_ca
from app.processes import start_server
from core.auth import mint_token
from server.app import RunningServer
from tests.e2e.conftest import base_settings

CLI = Path(sys.executable).parent / "consulta"


@dataclass
class Pki:
    ca: Path
    server: Issued
    client: Issued
    stranger: Issued  # a client certificate from a CA the server does not trust


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    folder = tmp_path / "pki"
    folder.mkdir()
    ca, other = make_ca("consulta"), make_ca("elsewhere")
    return Pki(
        ca=ca.write(folder),
        server=ca.issue(folder, "server"),
        client=ca.issue(folder, "client", client=True),
        stranger=other.issue(folder, "stranger", client=True),
    )


async def _start(tmp_path: Path, pki: Pki, *, mutual: bool) -> AsyncIterator[RunningServer]:
    settings = base_settings(
        tmp_path,
        tls_cert_file=str(pki.server.cert),
        tls_key_file=str(pki.server.key),
        tls_client_ca_file=str(pki.ca) if mutual else "",
    )
    running = await start_server(settings)
    try:
        yield running
    finally:
        await running.stop(1)


@pytest.fixture
async def tls_server(tmp_path: Path, pki: Pki) -> AsyncIterator[RunningServer]:
    async for running in _start(tmp_path, pki, mutual=False):
        yield running


@pytest.fixture
async def mtls_server(tmp_path: Path, pki: Pki) -> AsyncIterator[RunningServer]:
    async for running in _start(tmp_path, pki, mutual=True):
        yield running


async def list_jobs(
    server: RunningServer, credentials: grpc.ChannelCredentials | None
) -> grpc.StatusCode:
    """ListJobs over a secure (or, without credentials, plaintext) channel; its final code."""
    target = f"127.0.0.1:{server.port}"
    if credentials is None:
        channel = grpc.aio.insecure_channel(target)
    else:
        channel = grpc.aio.secure_channel(target, credentials)
    token = mint_token(server.settings.jwt_secret, "alice")
    try:
        stub = pb_grpc.TranscriptionServiceStub(channel)
        await stub.ListJobs(
            pb.ListJobsRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=10
        )
        return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    finally:
        await channel.close(None)


def _credentials(pki: Pki, client: Issued | None = None) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=pki.ca.read_bytes(),
        private_key=client.key.read_bytes() if client else None,
        certificate_chain=client.cert.read_bytes() if client else None,
    )


async def test_grpc_over_tls(tls_server: RunningServer, pki: Pki) -> None:
    assert await list_jobs(tls_server, _credentials(pki)) == grpc.StatusCode.OK
    assert await list_jobs(tls_server, None) == grpc.StatusCode.UNAVAILABLE


async def test_side_port_over_tls(tls_server: RunningServer, pki: Pki) -> None:
    trusting = ssl.create_default_context(cafile=str(pki.ca))
    base = f"127.0.0.1:{tls_server.http_port}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.get(f"https://{base}/readyz", ssl=trusting) as reply:
            assert reply.status == 200
        with pytest.raises(aiohttp.ClientError):
            async with http.get(f"http://{base}/readyz") as reply:
                await reply.read()


async def test_mutual_tls_requires_a_client_certificate_from_the_ca(
    mtls_server: RunningServer, pki: Pki
) -> None:
    assert await list_jobs(mtls_server, _credentials(pki, pki.client)) == grpc.StatusCode.OK
    assert await list_jobs(mtls_server, _credentials(pki)) == grpc.StatusCode.UNAVAILABLE
    stranger = _credentials(pki, pki.stranger)
    assert await list_jobs(mtls_server, stranger) == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_leaves_the_side_port_to_health_checks(
    mtls_server: RunningServer, pki: Pki
) -> None:
    trusting = ssl.create_default_context(cafile=str(pki.ca))
    url = f"https://127.0.0.1:{mtls_server.http_port}/readyz"
    async with aiohttp.ClientSession() as http, http.get(url, ssl=trusting) as reply:
        assert reply.status == 200


async def _cli(server: RunningServer, *args: str) -> tuple[int, str]:
    env = {**os.environ, "CONSULTA_JWT_SECRET": server.settings.jwt_secret}
    env.pop("CONSULTA_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        str(CLI),
        "--server",
        f"127.0.0.1:{server.port}",
        "--http",
        f"127.0.0.1:{server.http_port}",
        "--timeout",
        "10",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode() + err.decode()


async def test_cli_with_ca_cert_and_key(mtls_server: RunningServer, pki: Pki) -> None:
    client = ("--ca", str(pki.ca), "--cert", str(pki.client.cert), "--key", str(pki.client.key))
    code, said = await _cli(mtls_server, *client, "jobs", "list")
    assert code == 0, said
    code, said = await _cli(mtls_server, *client, "health", "--http")
    assert code == 0, said
    assert "readyz: SERVING" in said
    code, said = await _cli(mtls_server, "--ca", str(pki.ca), "jobs", "list")
    assert code == 1
    assert "--cert" in said
