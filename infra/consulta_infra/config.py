"""Per-environment settings of the Consulta stacks, read from CDK context.

cdk.json holds one block per environment under ``consulta.<env>``; ``-c env=dev|prod`` picks
one, and any of its keys given on the command line (``-c tlsMode=nlb``) overrides it, so a
one-off deploy needs no edit of cdk.json.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Ports of the application (core/settings.py) and of the managed services it talks to.
GRPC_PORT = 50051
HTTP_SIDE_PORT = 8081
POSTGRES_PORT = 5432
AMQPS_PORT = 5671
LISTENER_PORT = 443

# The app drains for this long on SIGTERM (CONSULTA_SHUTDOWN_GRACE_SECONDS). The NLB must keep
# a deregistering target longer, and systemd must wait longer still before it sends SIGKILL.
SHUTDOWN_GRACE_SECONDS = 20
DEREGISTRATION_DELAY_SECONDS = 30
SYSTEMD_STOP_TIMEOUT_SECONDS = 45

JOBS_QUEUE = "consulta.jobs"
DEAD_LETTER_QUEUE = "consulta.jobs.dead"
BROKER_VHOST = "/"
DATABASE_NAME = "consulta"
APP_USER = "consulta"
AUDIO_PREFIX = "audio"

#: core/db/engine.py's overflow beyond the pool size (its _MAX_OVERFLOW).
DATABASE_POOL_OVERFLOW = 5
#: Connections kept free for an instance booting and migrating, and for a person with psql.
MIGRATION_CONNECTIONS = 5
#: Memory in GiB of an RDS instance class by its size, for the general-purpose and burstable
#: families (t, m); memory-optimised (r, x) classes have twice and more, so this errs low.
_CLASS_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
              "4xlarge": 64, "8xlarge": 128, "12xlarge": 192, "16xlarge": 256}  # fmt: skip


def rds_max_connections(instance_type: str) -> int | None:
    """RDS PostgreSQL's default max_connections, LEAST(DBInstanceClassMemory / 9531392,
    5000), for an instance type such as "t4g.micro"; DBInstanceClassMemory is taken as 3/4 of
    the class's memory (RDS keeps some for the OS and itself: a t4g.micro allows about 80).
    None for a size this table does not know."""
    gib = _CLASS_GIB.get(instance_type.rsplit(".", 1)[-1])
    if gib is None:
        return None
    return min((gib << 30) * 3 // 4 // 9531392, 5000)


TLS_MODES = ("nlb", "passthrough")
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip


@dataclass(frozen=True)
class EnvConfig:
    """One environment (dev, prod); the cdk.json key of each field is its camelCase name."""

    name: str
    consulta_version: str
    """Version of the consulta package pip installs when no ArtifactUri is given."""
    tls_mode: str
    """'nlb': TLS listener with the CertificateArn parameter, plain gRPC to the servers.
    'passthrough': TCP listener, TLS terminated by the server itself."""
    client_cidr: str
    """Addresses allowed to reach the NLB listener."""
    vpc_cidr: str
    nat_gateways: int
    """One per AZ in prod so an AZ outage does not cut the other AZ's egress."""
    server_instance_type: str
    server_min_capacity: int
    server_max_capacity: int
    server_cpu_target_percent: int
    worker_instance_type: str
    worker_min_capacity: int
    worker_max_capacity: int
    worker_concurrency: int
    """CONSULTA_WORKER_CONCURRENCY: jobs one worker instance runs at once."""
    worker_scale_out_backlog: int
    """Jobs waiting in consulta.jobs at which one more worker is started."""
    database_instance_type: str
    database_pool_size: int
    """CONSULTA_DATABASE_POOL_SIZE of every process (see database_connections)."""
    database_allocated_storage_gib: int
    database_max_allocated_storage_gib: int
    database_backup_retention_days: int
    database_multi_az: bool
    performance_insights: bool
    deletion_protection: bool
    """Also decides what a stack deletion does to data: retain (True) or destroy (False)."""
    broker_instance_type: str
    broker_clustered: bool
    """CLUSTER_MULTI_AZ (three nodes) instead of SINGLE_INSTANCE."""
    audio_retention_days: int
    """Audio objects expire this many days after upload; transcripts live in the database."""
    log_retention_days: int
    jobs_queue_alarm_depth: int
    error_alarm_lines_per5_min: int
    alarm_email: str
    """Subscribed to the alarm topic when not empty."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.tls_mode not in TLS_MODES:
            problems.append(f"tlsMode must be one of {TLS_MODES}, not {self.tls_mode!r}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            problems.append(f"logRetentionDays must be one of {LOG_RETENTION_DAYS}")
        for net in (self.client_cidr, self.vpc_cidr):
            try:
                ipaddress.ip_network(net)
            except ValueError:
                problems.append(f"{net!r} is not a CIDR block")
        for role in ("server", "worker"):
            low, high = getattr(self, f"{role}_min_capacity"), getattr(self, f"{role}_max_capacity")
            if not 0 < low <= high:
                problems.append(f"{role} capacity needs 0 < min <= max, got {low}..{high}")
        if self.database_max_allocated_storage_gib < self.database_allocated_storage_gib:
            problems.append("databaseMaxAllocatedStorageGib is below databaseAllocatedStorageGib")
        if self.audio_retention_days < 1 or self.database_backup_retention_days < 1:
            problems.append("retention periods must be at least one day")
        problems += self._connection_problems()
        if problems:
            raise ValueError(f"context for env {self.name!r}: " + "; ".join(problems))

    @property
    def database_connections(self) -> int:
        """PostgreSQL connections the fleets can hold at their largest: every process has
        the main pool (pool size + DATABASE_POOL_OVERFLOW) and a read pool as large again
        (core/db/engine.py), plus MIGRATION_CONNECTIONS for a boot's migration."""
        per_process = 2 * (self.database_pool_size + DATABASE_POOL_OVERFLOW)
        processes = self.server_max_capacity + self.worker_max_capacity
        return processes * per_process + MIGRATION_CONNECTIONS

    def _connection_problems(self) -> list[str]:
        if self.database_pool_size < 1:
            return ["databasePoolSize must be at least 1"]
        allowed = rds_max_connections(self.database_instance_type)
        if allowed is None or self.database_connections <= allowed:
            return []
        return [
            f"the fleets can open {self.database_connections} database connections at "
            f"most capacity (servers + workers x 2 x (databasePoolSize + "
            f"{DATABASE_POOL_OVERFLOW})), more than the about {allowed} a "
            f"{self.database_instance_type} allows: lower databasePoolSize or the capacities, "
            "or take a larger databaseInstanceType"
        ]

    @property
    def stack_name(self) -> str:
        return f"Consulta{self.name.capitalize()}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _coerce(value: Any, kind: type, key: str) -> Any:
    """Context from `-c key=value` arrives as a string; cdk.json gives JSON types."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    elif isinstance(value, str):
        return value
    raise ValueError(f"context key {key!r} must be {kind.__name__}, got {value!r}")


_KINDS: Mapping[str, type] = {"str": str, "int": int, "bool": bool}


def load(env: str, get_context: Callable[[str], Any]) -> EnvConfig:
    """Builds the EnvConfig of `env` from the app's context (cdk.json plus -c overrides)."""
    blocks = get_context("consulta") or {}
    if env not in blocks:
        raise ValueError(f"unknown env {env!r}: cdk.json has {sorted(blocks)}")
    block: Mapping[str, Any] = blocks[env]
    values: dict[str, Any] = {"name": env}
    for field in dataclasses.fields(EnvConfig):
        if field.name == "name":
            continue
        key = _camel(field.name)
        override = get_context(key)
        raw = override if override is not None else block.get(key)
        if raw is None:
            raise ValueError(f"context for env {env!r} lacks {key!r}")
        values[field.name] = _coerce(raw, _KINDS[str(field.type)], key)
    return EnvConfig(**values)
