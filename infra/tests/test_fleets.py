"""Launch templates, user data and scaling of the server and worker groups."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cfn import ref, render
from conftest import Synthesized
from consulta_infra.config import JOBS_QUEUE, SYSTEMD_STOP_TIMEOUT_SECONDS

FLEETS = ("Servers", "Workers")


def boot_script(stack: Synthesized, fleet: str) -> str:
    _, template = stack.one("AWS::EC2::LaunchTemplate", fleet)
    return render(template["Properties"]["LaunchTemplateData"]["UserData"])


def environment(script: str) -> dict[str, str]:
    body = script.split("<<'CONSULTA_ENV'\n", 1)[1].split("\nCONSULTA_ENV", 1)[0]
    return dict(line.split("=", 1) for line in body.splitlines())


@pytest.mark.parametrize("fleet", FLEETS)
def test_launch_template_hardening(stack: Synthesized, fleet: str) -> None:
    _, template = stack.one("AWS::EC2::LaunchTemplate", fleet)
    data = template["Properties"]["LaunchTemplateData"]
    assert data["ImageId"] == {"Ref": "AmiId"}
    assert data["MetadataOptions"] == {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}
    (volume,) = data["BlockDeviceMappings"]
    assert volume["Ebs"]["Encrypted"] is True
    assert "KeyName" not in data  # no SSH key: Session Manager only
    expected = getattr(stack.config, f"{fleet[:-1].lower()}_instance_type")
    assert data["InstanceType"] == expected


def test_ami_is_a_parameter(stack: Synthesized) -> None:
    assert stack.template["Parameters"]["AmiId"]["Type"] == "AWS::EC2::Image::Id"


@pytest.mark.parametrize(
    ("fleet", "command"), [("Servers", "serve --no-worker"), ("Workers", "worker")]
)
def test_user_data_installs_and_runs_under_systemd(
    stack: Synthesized, fleet: str, command: str
) -> None:
    script = boot_script(stack, fleet)
    assert script.startswith("#!/bin/bash\n")
    pinned = "-c /opt/consulta/constraints.txt"
    assert f"pip install {pinned} 'consulta=={stack.config.consulta_version}'" in script
    assert f"pip install {pinned} /opt/consulta/dist/*" in script
    assert "ARTIFACT_URI='@ArtifactUri@'" in script
    assert f"ExecStart=/opt/consulta/venv/bin/consulta {command}\n" in script
    assert f"TimeoutStopSec={SYSTEMD_STOP_TIMEOUT_SECONDS}\n" in script
    assert "KillSignal=SIGTERM\n" in script
    unit = "consulta-server" if fleet == "Servers" else "consulta-worker"
    assert f"systemctl enable --now {unit}.service" in script


@pytest.mark.parametrize("fleet", FLEETS)
def test_user_data_pins_every_dependency_as_the_tests_ran_them(
    stack: Synthesized, fleet: str
) -> None:
    script = boot_script(stack, fleet)
    body = script.split("<<'CONSULTA_CONSTRAINTS'\n", 1)[1].split("\nCONSULTA_CONSTRAINTS", 1)[0]
    pins = dict(line.split("==", 1) for line in body.splitlines())
    repository = Path(__file__).resolve().parents[2] / "constraints.txt"
    expected = dict(
        line.split("==", 1)
        for line in repository.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert pins == expected
    for package in ("grpcio", "SQLAlchemy", "aio-pika", "faster-whisper", "protobuf"):
        assert package in pins, package
    # The pins are written before the first install that reads them.
    assert script.index("CONSULTA_CONSTRAINTS") < script.index("pip install -c")
    # EC2 takes at most 16 KB of user data (before base64).
    assert len(script.encode()) <= 16 * 1024


def test_user_data_is_valid_bash(stack: Synthesized) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    for fleet in FLEETS:
        result = subprocess.run(
            [bash, "-n"],
            input=boot_script(stack, fleet),
            text=True,
            capture_output=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr


def test_server_environment(stack: Synthesized) -> None:
    env = environment(boot_script(stack, "Servers"))
    db = stack.logical("AWS::RDS::DBInstance", "Database")
    assert env["CONSULTA_GRPC_LISTEN"] == "0.0.0.0:50051"
    assert env["CONSULTA_HTTP_LISTEN"] == "0.0.0.0:8081"
    assert env["CONSULTA_RUN_WORKER"] == "false"
    assert env["CONSULTA_SHUTDOWN_GRACE_SECONDS"] == "20"
    assert env["CONSULTA_DATABASE_URL"] == f"postgresql+asyncpg://consulta@@{db}@:5432/consulta"
    assert env["CONSULTA_BLOB_URL"] == f"s3://@{stack.logical('AWS::S3::Bucket', 'Storage')}@/audio"
    assert env["CONSULTA_S3_SSE"] == "aws:kms"
    assert env["CONSULTA_S3_KMS_KEY_ID"] == f"@{stack.logical('AWS::KMS::Key', 'KeysAudioKey')}@"
    assert re.fullmatch(r"amqps://consulta@@\?@/", env["CONSULTA_QUEUE_URL"])
    assert (
        env["CONSULTA_JWT_SECRET_ID"]
        == f"@{stack.logical('AWS::SecretsManager::Secret', 'SecretsJwt')}@"
    )
    assert (
        env["CONSULTA_BROKER_SECRET_ID"]
        == f"@{stack.logical('AWS::SecretsManager::Secret', 'BrokerCredentials')}@"
    )
    assert env["CONSULTA_DATABASE_SECRET_ID"].startswith("@DatabasePostgresSecret")
    assert "CONSULTA_PROVIDER_KEYS_SECRET_ID" not in env


def test_worker_environment(stack: Synthesized) -> None:
    env = environment(boot_script(stack, "Workers"))
    assert env["CONSULTA_WORKER_CONCURRENCY"] == str(stack.config.worker_concurrency)
    assert env["CONSULTA_PROVIDER_KEYS_SECRET_ID"] == (
        f"@{stack.logical('AWS::SecretsManager::Secret', 'SecretsProviderKeys')}@"
    )
    assert "CONSULTA_JWT_SECRET_ID" not in env
    assert "CONSULTA_GRPC_LISTEN" not in env


def test_every_process_gets_the_database_pool_size(stack: Synthesized) -> None:
    for fleet in FLEETS:
        env = environment(boot_script(stack, fleet))
        assert env["CONSULTA_DATABASE_POOL_SIZE"] == str(stack.config.database_pool_size)


def test_logs_shipped_to_the_role_log_group(stack: Synthesized) -> None:
    for fleet, role in (("Servers", "server"), ("Workers", "worker")):
        script = boot_script(stack, fleet)
        group = stack.logical("AWS::Logs::LogGroup", f"Logs{role.capitalize()}Logs")
        assert f'"log_group_name": "@{group}@"' in script
        assert f'"file_path": "/var/log/consulta/{role}.log"' in script


def test_groups_in_private_subnets_with_capacity_from_context(stack: Synthesized) -> None:
    for fleet in FLEETS:
        _, group = stack.one("AWS::AutoScaling::AutoScalingGroup", fleet)
        props = group["Properties"]
        assert all(
            str(ref(s)).startswith("NetworkVpcappSubnet") for s in props["VPCZoneIdentifier"]
        )
        role = fleet[:-1].lower()
        assert props["MinSize"] == str(getattr(stack.config, f"{role}_min_capacity"))
        assert props["MaxSize"] == str(getattr(stack.config, f"{role}_max_capacity"))
    _, servers = stack.one("AWS::AutoScaling::AutoScalingGroup", "Servers")
    assert servers["Properties"]["HealthCheckType"] == "ELB"
    assert servers["Properties"]["HealthCheckGracePeriod"] == 600


def test_agent_config_is_json(stack: Synthesized) -> None:
    for fleet in FLEETS:
        script = boot_script(stack, fleet)
        body = script.split("<<'CONSULTA_AGENT'\n", 1)[1].split("\nCONSULTA_AGENT", 1)[0]
        (entry,) = json.loads(body)["logs"]["logs_collected"]["files"]["collect_list"]
        assert entry["log_stream_name"] == "{instance_id}"


def test_servers_track_cpu(stack: Synthesized) -> None:
    _, policy = stack.one("AWS::AutoScaling::ScalingPolicy", "ServersGroupScalingPolicyCpu")
    props = policy["Properties"]
    assert ref(props["AutoScalingGroupName"]) == stack.logical(
        "AWS::AutoScaling::AutoScalingGroup", "Servers"
    )
    assert props["PolicyType"] == "TargetTrackingScaling"
    config = props["TargetTrackingConfiguration"]
    assert (
        config["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "ASGAverageCPUUtilization"
    )
    assert config["TargetValue"] == stack.config.server_cpu_target_percent


def test_workers_scale_on_jobs_queue_depth(stack: Synthesized) -> None:
    backlog = stack.config.worker_scale_out_backlog
    upper_name, upper = stack.one("AWS::AutoScaling::ScalingPolicy", "WorkersGroupJobsBacklogUpper")
    lower_name, lower = stack.one("AWS::AutoScaling::ScalingPolicy", "WorkersGroupJobsBacklogLower")
    assert upper["Properties"]["StepAdjustments"][0]["ScalingAdjustment"] == 1
    assert lower["Properties"]["StepAdjustments"] == [
        {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}
    ]
    alarms = {
        str(ref(a["Properties"]["AlarmActions"][0])): a["Properties"]
        for a in stack.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmActions")
        and ref(a["Properties"]["AlarmActions"][0]) in (upper_name, lower_name)
    }
    assert set(alarms) == {upper_name, lower_name}
    for props in alarms.values():
        assert props["Namespace"] == "AWS/AmazonMQ"
        assert props["MetricName"] == "MessageCount"
        dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        assert dims == {
            "Broker": f"consulta-{stack.config.name}",
            "VirtualHost": "/",
            "Queue": JOBS_QUEUE,
        }
    assert alarms[upper_name]["Threshold"] == backlog
    assert alarms[lower_name]["Threshold"] == 0
