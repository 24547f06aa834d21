"""What every `consulta` command shares: the global options, the client they make, and one
place that turns errors into a message on stderr and an exit code."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from clients.client import ConsultaClient
from clients.errors import ConfigurationError, ConsultaClientError, Unavailable
from clients.token import NO_TOKEN, TokenMinter, default_user, resolve_token

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# Exit codes, so that scripts can tell a failed job from a failed call.
EXIT_OK = 0
EXIT_ERROR = 1  # the call failed, or health is not SERVING
EXIT_USAGE = 2  # click's own code for bad options
EXIT_JOB_FAILED = 3
EXIT_JOB_CANCELLED = 4
EXIT_ALREADY_FINISHED = 5  # `jobs cancel` on a job that had completed or failed
EXIT_INTERRUPTED = 130


def local_address(address: str) -> str:
    """Where to connect for a listen address: a wildcard host means this machine."""
    host, sep, port = address.rpartition(":")
    if sep and host in ("", "0.0.0.0", "[::]", "::"):
        return f"127.0.0.1:{port}"
    return address


@dataclass
class CliState:
    """The global options, as given or from CONSULTA_* variables."""

    server: str
    http: str
    token: str | None
    user: str | None
    tenant: str
    json: bool
    tls: bool
    ca_file: Path | None
    timeout: float
    cert_file: Path | None = None
    key_file: Path | None = None
    #: Signs tokens when there is no --token; given by the program that runs the CLI
    #: (app/cli.py, with this machine's secret), None for the client alone.
    minter: TokenMinter | None = None

    def client(self) -> ConsultaClient:
        token = resolve_token(
            token=self.token, user=self.user, tenant=self.tenant, minter=self.minter
        )
        return self.anonymous_client(token)

    def mint(
        self,
        *,
        user: str | None = None,
        tenant: str | None = None,
        roles: tuple[str, ...] = (),
        ttl_seconds: int = 3600,
    ) -> str:
        """A token from the minter for ``user`` (else --user, CONSULTA_USER, you) and
        ``tenant`` (else --tenant); ConfigurationError when there is no minter."""
        if self.minter is None:
            raise ConfigurationError(NO_TOKEN)
        return self.minter(
            user=user or self.user or default_user(),
            tenant=tenant or self.tenant,
            roles=roles,
            ttl_seconds=ttl_seconds,
        )

    @property
    def uses_tls(self) -> bool:
        return self.tls or self.ca_file is not None or self.cert_file is not None

    def anonymous_client(self, token: str | Callable[[], str] | None = None) -> ConsultaClient:
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigurationError("--cert and --key go together.")
        return ConsultaClient(
            local_address(self.server),
            token=token,
            tls=self.uses_tls,
            root_certificates=_read(self.ca_file),
            certificate_chain=_read(self.cert_file),
            private_key=_read(self.key_file),
            timeout=self.timeout,
        )


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"Cannot read {path}: {exc}") from exc


def stdout() -> Console:
    # Wide when not a terminal, so piped tables keep whole job ids on one line.
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def json_errors() -> bool:
    """Whether this command was asked for ``--json``: then errors are JSON too."""
    context = click.get_current_context(silent=True)
    state = context.find_object(CliState) if context is not None else None
    return bool(state and state.json)


def fail(
    message: str, code: int = EXIT_ERROR, *, reason: str = "", status: str = "CLIENT_ERROR"
) -> NoReturn:
    """A one-line error on stderr (one JSON object with ``--json``) and exit ``code``."""
    if json_errors():
        error = {"code": status, "reason": reason, "message": message}
        click.echo(json.dumps(error, ensure_ascii=False), err=True)
    else:
        stderr().print("[red]error:[/] ", end="")
        stderr().print(message, markup=False, soft_wrap=True)
    raise SystemExit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; client errors become a message (one JSON object on stderr
    with ``--json``) and exit code 1."""
    try:
        return asyncio.run(coro)
    except ConsultaClientError as exc:
        if json_errors():
            click.echo(json.dumps(exc.as_dict(), ensure_ascii=False), err=True)
            raise SystemExit(EXIT_ERROR) from exc
        stderr().print("[red]error:[/] ", end="")
        stderr().print(exc.explain(), markup=False, soft_wrap=True)
        if type(exc) is Unavailable and "connect" in exc.message:
            stderr().print(
                "  Is the server running there? Check --server (CONSULTA_SERVER) and whether it "
                "expects TLS (--tls, --ca) or a client certificate (--cert, --key).",
                markup=False,
                soft_wrap=True,
            )
        raise SystemExit(EXIT_ERROR) from exc
    except KeyboardInterrupt:
        stderr().print("interrupted")
        raise SystemExit(EXIT_INTERRUPTED) from None


def json_option(command: F) -> F:
    """``--json`` on a command, the same as ``consulta --json``."""

    def remember(ctx: click.Context, _: click.Parameter, value: bool) -> bool:
        if value:
            state = ctx.find_object(CliState)
            if state is not None:
                state.json = True
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=remember,
        help="Print JSON lines instead of text.",
    )(command)


pass_state = click.make_pass_decorator(CliState)
