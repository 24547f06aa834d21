"""The CLI over TLS: --ca-file trusts a private CA; a plaintext or untrusting client fails."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.cli_runner import consulta
from tests.clients.fake_consulta import FakeConsulta
from tests.clients.fake_server_thread import ServerThread


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return key, cert


@pytest.fixture
def tls_server(fake: FakeConsulta, certificate: tuple[Path, Path]) -> Iterator[ServerThread]:
    key, cert = certificate
    thread = ServerThread(fake, tls=(key.read_bytes(), cert.read_bytes()))
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def test_ca_file_lets_the_cli_talk_tls(
    tls_server: ServerThread, fake: FakeConsulta, certificate: tuple[Path, Path]
) -> None:
    _, cert = certificate
    result = consulta(tls_server, "--ca-file", str(cert), "jobs", "list")
    assert result.exit_code == 0, result.stderr
    assert fake.subjects == ["dr-house"]


def test_plaintext_to_a_tls_server_fails_with_unavailable(tls_server: ServerThread) -> None:
    result = consulta(tls_server, "--timeout", "5", "jobs", "list")
    assert result.exit_code == 1
    assert "unavailable:" in result.stderr
    assert "Is the server running there?" in result.stderr


def test_tls_without_the_private_ca_does_not_trust_the_server(tls_server: ServerThread) -> None:
    result = consulta(tls_server, "--tls", "--timeout", "5", "jobs", "list")
    assert result.exit_code == 1
    assert "unavailable:" in result.stderr
