"""Context parsing: cdk.json blocks, -c overrides and rejected values."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import cdk_context
from consulta_infra.config import load, rds_max_connections


def getter(**overrides: Any):  # type: ignore[no-untyped-def]
    context = {**cdk_context(), **overrides}
    return context.get


def test_both_environments_load() -> None:
    assert load("dev", getter()).tls_mode == "passthrough"
    assert load("prod", getter()).database_multi_az is True


def test_command_line_strings_are_coerced() -> None:
    config = load(
        "dev", getter(serverMaxCapacity="3", databasePoolSize="2", databaseMultiAz="true")
    )
    assert config.server_max_capacity == 3 and config.database_pool_size == 2
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


def test_the_fleets_fit_the_databases_connections() -> None:
    # Both environments as shipped leave room under the instance's max_connections.
    for env in ("dev", "prod"):
        config = load(env, getter())
        allowed = rds_max_connections(config.database_instance_type)
        assert allowed is not None and config.database_connections <= allowed
    # dev: 4 processes x 2 pools x (4 + 5) + 5 kept free.
    assert load("dev", getter()).database_connections == 77


@pytest.mark.parametrize(
    "override",
    [
        {"databasePoolSize": 10},  # 10 + 5 a pool, two pools a process: 125 > 84
        {"serverMaxCapacity": 6},
    ],
)
def test_more_connections_than_the_database_allows_are_refused(override: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="database connections"):
        load("dev", getter(**override))


def test_an_unknown_instance_size_is_not_guessed() -> None:
    assert rds_max_connections("t4g.micro") == 84
    assert rds_max_connections("m7g.large") == 675
    assert rds_max_connections("x2g.metal") is None
    config = load("dev", getter(databaseInstanceType="x2g.metal", databasePoolSize=50))
    assert config.database_pool_size == 50
    with pytest.raises(ValueError, match="databasePoolSize"):
        load("dev", getter(databasePoolSize=0))
