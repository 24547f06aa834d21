"""Fixtures every suite shares: one SeaweedFS (S3) for the whole session, started lazily by
the first test that asks for it, and a plain S3 client to look at it from outside."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioboto3
import pytest
from botocore.config import Config

from app.devstack.seaweed import S3Endpoint, seaweed_s3

# The suite transcribes English on tiny.en: the texts its tests expect were heard by it, and a
# fresh data folder per test would otherwise join the base model again each time. The
# default, base, is proven by tests/transcribers/test_english_model.py (by name) and
# tests/e2e/test_english_default.py (an English upload through the product). A run with this
# variable set keeps the caller's choice.
os.environ.setdefault("CONSULTA_WHISPER_ENGLISH_MODEL", "tiny.en")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    with seaweed_s3() as endpoint:
        yield endpoint


@pytest.fixture
async def raw_s3(s3_endpoint: S3Endpoint) -> AsyncIterator[Any]:
    """A plain client, to look at objects from outside the store."""
    session = aioboto3.Session(
        aws_access_key_id=s3_endpoint.access_key,
        aws_secret_access_key=s3_endpoint.secret_key,
        region_name=s3_endpoint.region,
    )
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    async with session.client("s3", endpoint_url=s3_endpoint.url, config=config) as client:
        yield client
