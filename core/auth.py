"""Bearer tokens: HS256 JWTs signed with the deployment's secret.

Claims: ``sub`` (the caller's user id), ``tenant`` (its organisation), ``roles`` (``service``
lets a caller see every job of its tenant), ``iss``, ``aud``, ``iat``, ``exp``. A token must
name this deployment's issuer and audience and live at most the deployment's maximum
lifetime (``exp - iat``), so a leaked long-lived token cannot be minted into service.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
from cachetools import TLRUCache

from core.errors import Unauthenticated
from core.private_files import private_dir

ALGORITHM = "HS256"
SERVICE_ROLE = "service"
DEFAULT_AUDIENCE = "consulta"
DEFAULT_MAX_LIFETIME_SECONDS = 86400


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user of a tenant, possibly with the service role."""

    subject: str
    tenant: str
    roles: frozenset[str] = frozenset()

    @property
    def is_service(self) -> bool:
        return SERVICE_ROLE in self.roles


def mint_token(
    secret: str,
    subject: str,
    *,
    tenant: str = "default",
    roles: tuple[str, ...] = (),
    ttl_seconds: int = 3600,
    issuer: str = "consulta",
    audience: str = DEFAULT_AUDIENCE,
) -> str:
    """Sign a token for ``subject``; valid for ``ttl_seconds``."""
    now = int(time.time())
    claims = {
        "sub": subject,
        "tenant": tenant,
        "roles": list(roles),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(
    token: str,
    secret: str,
    *,
    issuer: str = "consulta",
    audience: str = DEFAULT_AUDIENCE,
    max_lifetime_seconds: float = DEFAULT_MAX_LIFETIME_SECONDS,
) -> Principal:
    """The token's principal; Unauthenticated when it is expired, forged, malformed, meant
    for another audience or valid for longer than ``max_lifetime_seconds``."""
    return verify_token_until(
        token,
        secret,
        issuer=issuer,
        audience=audience,
        max_lifetime_seconds=max_lifetime_seconds,
    )[0]


def verify_token_until(
    token: str,
    secret: str,
    *,
    issuer: str = "consulta",
    audience: str = DEFAULT_AUDIENCE,
    max_lifetime_seconds: float = DEFAULT_MAX_LIFETIME_SECONDS,
) -> tuple[Principal, float]:
    """As verify_token, with the token's ``exp`` (epoch seconds)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            options={"require": ["sub", "exp", "iat", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The token has expired; get a new one.") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated("The token is meant for another audience.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("The token is not valid for this deployment.") from exc
    # PyJWT checks exp and iat one by one; their distance is this deployment's rule.
    if claims["exp"] - claims["iat"] > max_lifetime_seconds:
        raise Unauthenticated(
            f"The token lives longer than this deployment allows "
            f"({max_lifetime_seconds:.0f} s); get a shorter one."
        )
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("The token names no caller.")
    tenant = claims.get("tenant") or "default"
    roles = claims.get("roles") or []
    if not isinstance(tenant, str) or not isinstance(roles, list):
        raise Unauthenticated("The token's claims are malformed.")
    principal = Principal(subject=subject, tenant=tenant, roles=frozenset(str(r) for r in roles))
    return principal, float(claims["exp"])


class TokenCache:
    """Remembers tokens that verified, so a caller polling with one token pays for the HMAC
    and claim checks once, not on every call.

    Keyed by the whole token string (signature included), so only the exact bytes that
    verified hit. An entry lives until the token's own ``exp`` and never longer; refusals are
    not cached, so a bad token is refused for its own reason every time. Bounded to
    ``size`` tokens, least recently used first out. The signing secret is fixed for the
    process's life, which is what makes a past verification still true.
    """

    def __init__(
        self,
        verify: Callable[[str], tuple[Principal, float]],
        *,
        size: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verify = verify
        # ttu: the entry is usable while clock() < the token's exp.
        self._entries: TLRUCache[str, tuple[Principal, float]] = TLRUCache(
            maxsize=size, ttu=lambda _token, value, _now: value[1], timer=clock
        )

    def __call__(self, token: str) -> Principal:
        hit = self._entries.get(token)
        if hit is not None:
            return hit[0]
        principal, expires = self._verify(token)
        self._entries[token] = (principal, expires)
        return principal


def load_or_create_secret(path: Path) -> str:
    """The signing secret kept in ``path``, created (mode 0600) when missing."""
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together agree on one secret.
    try:
        with path.open("x") as f:
            path.chmod(0o600)
            f.write(value)
    except FileExistsError:
        return path.read_text().strip()
    return value
