"""Fixtures every suite shares: one SeaweedFS (S3) for the whole session, started lazily by
the first test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.devstack.seaweed import S3Endpoint, seaweed_s3


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    with seaweed_s3() as endpoint:
        yield endpoint
