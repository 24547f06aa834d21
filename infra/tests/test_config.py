"""Context parsing: cdk.json blocks, -c overrides and rejected values."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import cdk_context
from consulta_infra.config import load


def getter(**overrides: Any):  # type: ignore[no-untyped-def]
    context = {**cdk_context(), **overrides}
    return context.get


def test_both_environments_load() -> None:
    assert load("dev", getter()).tls_mode == "passthrough"
    assert load("prod", getter()).database_multi_az is True


def test_command_line_strings_are_coerced() -> None:
    config = load("dev", getter(serverMaxCapacity="5", databaseMultiAz="true"))
    assert config.server_max_capacity == 5
    assert config.database_multi_az is True


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"tlsMode": "none"}, "tlsMode"),
        ({"logRetentionDays": 10}, "logRetentionDays"),
        ({"clientCidr": "everyone"}, "CIDR"),
        ({"serverMinCapacity": 3, "serverMaxCapacity": 2}, "capacity"),
        ({"databaseMultiAz": "maybe"}, "databaseMultiAz"),
    ],
)
def test_bad_values_are_refused(override: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load("dev", getter(**override))


def test_unknown_environment() -> None:
    with pytest.raises(ValueError, match="unknown env"):
        load("staging", getter())
