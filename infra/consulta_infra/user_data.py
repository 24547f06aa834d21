"""The boot script of server and worker instances (Amazon Linux 2023).

It installs Consulta into a virtual environment, with the versions of every dependency pinned
by the repository's constraints.txt (the set the tests last passed on, as ``make install``
takes them), writes the CONSULTA_* environment, a systemd
unit and the CloudWatch agent's log shipping, then starts the unit. Values such as the bucket
name are CDK tokens here and become Fn::Join pieces in the template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .config import APP_USER, SYSTEMD_STOP_TIMEOUT_SECONDS

VENV = "/opt/consulta/venv"
ENV_FILE = "/etc/consulta/consulta.env"
LOG_DIR = "/var/log/consulta"
DATA_DIR = "/var/lib/consulta"
AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/consulta.json"
CONSTRAINTS_FILE = "/opt/consulta/constraints.txt"
#: The repository's pins (infra/ sits in the repository, beside it).
REPOSITORY_CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints.txt"


def pinned_versions(path: Path = REPOSITORY_CONSTRAINTS) -> str:
    """The pins of ``path`` without its comments and blank lines (user data holds at most
    16 KB)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return "".join(f"{line}\n" for line in lines if line and not line.startswith("#"))


@dataclass(frozen=True)
class Service:
    """One systemd service: `consulta-<role>` running `consulta <args>`."""

    role: str
    args: str
    description: str

    @property
    def unit(self) -> str:
        return f"consulta-{self.role}"

    @property
    def log_file(self) -> str:
        return f"{LOG_DIR}/{self.role}.log"


SERVER = Service("server", "serve --no-worker", "Consulta gRPC server")
WORKER = Service("worker", "worker", "Consulta worker")


def systemd_unit(service: Service) -> str:
    # SIGTERM starts the app's drain (CONSULTA_SHUTDOWN_GRACE_SECONDS); systemd waits
    # TimeoutStopSec, longer than the grace and the NLB deregistration delay, before SIGKILL.
    return f"""[Unit]
Description={service.description}
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User={APP_USER}
Group={APP_USER}
EnvironmentFile={ENV_FILE}
ExecStart={VENV}/bin/consulta {service.args}
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec={SYSTEMD_STOP_TIMEOUT_SECONDS}
Restart=always
RestartSec=5
StandardOutput=append:{service.log_file}
StandardError=append:{service.log_file}
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths={LOG_DIR} {DATA_DIR}

[Install]
WantedBy=multi-user.target
"""


def agent_config(service: Service, log_group_name: str) -> str:
    """CloudWatch agent: ship the service's log file to its log group, one stream per instance."""
    return json.dumps(
        {
            "logs": {
                "logs_collected": {
                    "files": {
                        "collect_list": [
                            {
                                "file_path": service.log_file,
                                "log_group_name": log_group_name,
                                "log_stream_name": "{instance_id}",
                            }
                        ]
                    }
                }
            }
        },
        indent=2,
    )


def environment_file(env: Mapping[str, str]) -> str:
    return "".join(f"{name}={value}\n" for name, value in sorted(env.items()))


def commands(
    service: Service,
    *,
    env: Mapping[str, str],
    consulta_version: str,
    artifact_uri: str,
    log_group_name: str,
) -> list[str]:
    """Shell lines of the boot script; files are written with quoted heredocs (no expansion)."""
    return [
        "set -euxo pipefail",
        "dnf install -y python3.11 python3.11-pip amazon-cloudwatch-agent",
        f"id -u {APP_USER} >/dev/null 2>&1 || useradd --system --home-dir {DATA_DIR} "
        f"--shell /sbin/nologin {APP_USER}",
        f"install -d -o {APP_USER} -g {APP_USER} -m 0750 {LOG_DIR} {DATA_DIR}",
        "install -d -m 0755 /etc/consulta /opt/consulta",
        f"python3.11 -m venv {VENV}",
        f"{VENV}/bin/pip install --upgrade pip",
        f"cat > {CONSTRAINTS_FILE} <<'CONSULTA_CONSTRAINTS'",
        pinned_versions() + "CONSULTA_CONSTRAINTS",
        # An artifact in S3 (a wheel built by CI) wins over the released version on PyPI.
        f"ARTIFACT_URI='{artifact_uri}'",
        'if [ -n "$ARTIFACT_URI" ]; then',
        "  install -d /opt/consulta/dist",
        '  aws s3 cp "$ARTIFACT_URI" /opt/consulta/dist/',
        f"  {VENV}/bin/pip install -c {CONSTRAINTS_FILE} /opt/consulta/dist/*",
        "else",
        f"  {VENV}/bin/pip install -c {CONSTRAINTS_FILE} 'consulta=={consulta_version}'",
        "fi",
        f"cat > {ENV_FILE} <<'CONSULTA_ENV'",
        environment_file(env) + "CONSULTA_ENV",
        f"chmod 0644 {ENV_FILE}",
        f"cat > /etc/systemd/system/{service.unit}.service <<'CONSULTA_UNIT'",
        systemd_unit(service) + "CONSULTA_UNIT",
        "cat > /etc/logrotate.d/consulta <<'CONSULTA_ROTATE'",
        f"{LOG_DIR}/*.log {{\n  daily\n  rotate 3\n  compress\n  missingok\n  copytruncate\n}}\n"
        "CONSULTA_ROTATE",
        f"cat > {AGENT_CONFIG} <<'CONSULTA_AGENT'",
        agent_config(service, log_group_name) + "\nCONSULTA_AGENT",
        "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config "
        f"-m ec2 -s -c file:{AGENT_CONFIG}",
        "systemctl daemon-reload",
        f"systemctl enable --now {service.unit}.service",
    ]
