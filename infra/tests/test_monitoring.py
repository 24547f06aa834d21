"""Log groups, the error metric filters, the alarm topic and the alarms."""

from __future__ import annotations

from typing import Any

from cfn import ref
from conftest import Synthesized
from consulta_infra.config import DEAD_LETTER_QUEUE, JOBS_QUEUE


def alarm(stack: Synthesized, name: str) -> dict[str, Any]:
    return stack.one("AWS::CloudWatch::Alarm", f"Alarms{name}")[1]["Properties"]


def test_log_groups_retention_and_encryption(stack: Synthesized) -> None:
    data_key = stack.logical("AWS::KMS::Key", "KeysDataKey")
    groups = stack.resources("AWS::Logs::LogGroup")
    names = {b["Properties"].get("LogGroupName") for b in groups.values()}
    assert {
        f"/consulta/{stack.config.name}/server",
        f"/consulta/{stack.config.name}/worker",
    } <= names
    for body in groups.values():
        assert body["Properties"]["RetentionInDays"] == stack.config.log_retention_days
        assert ref(body["Properties"]["KmsKeyId"]) == data_key


def test_error_lines_counted_by_metric_filters(stack: Synthesized) -> None:
    filters = stack.resources("AWS::Logs::MetricFilter")
    by_group = {
        str(ref(b["Properties"]["LogGroupName"])): b["Properties"] for b in filters.values()
    }
    for role in ("Server", "Worker"):
        props = by_group[stack.logical("AWS::Logs::LogGroup", f"Logs{role}Logs")]
        assert props["FilterPattern"] == '?"ERROR" ?"CRITICAL"'
        (transform,) = props["MetricTransformations"]
        assert transform["MetricName"] == f"{role}ErrorLines"
        assert transform["MetricNamespace"] == f"Consulta/{stack.config.name}"
    rate = alarm(stack, "ErrorRate")
    assert rate["Threshold"] == stack.config.error_alarm_lines_per5_min
    ids = {m["Id"]: m for m in rate["Metrics"]}
    assert ids["server"]["MetricStat"]["Metric"]["MetricName"] == "ServerErrorLines"
    assert ids["worker"]["MetricStat"]["Metric"]["MetricName"] == "WorkerErrorLines"
    assert any(m.get("Expression") == "server + worker" for m in rate["Metrics"])


def queue_of(props: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in props["Dimensions"]}


def test_queue_alarms(stack: Synthesized) -> None:
    broker = f"consulta-{stack.config.name}"
    depth = alarm(stack, "JobsQueueDepth")
    assert (depth["Namespace"], depth["MetricName"]) == ("AWS/AmazonMQ", "MessageCount")
    assert queue_of(depth) == {"Broker": broker, "VirtualHost": "/", "Queue": JOBS_QUEUE}
    assert depth["Threshold"] == stack.config.jobs_queue_alarm_depth
    dead = alarm(stack, "DeadLetterNotEmpty")
    assert queue_of(dead) == {"Broker": broker, "VirtualHost": "/", "Queue": DEAD_LETTER_QUEUE}
    assert dead["Threshold"] == 1
    assert dead["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_database_alarms(stack: Synthesized) -> None:
    db = stack.logical("AWS::RDS::DBInstance", "Database")
    storage = alarm(stack, "DatabaseStorageLow")
    assert storage["MetricName"] == "FreeStorageSpace"
    assert storage["Threshold"] == stack.config.database_allocated_storage_gib * 2**30 // 10
    assert storage["ComparisonOperator"] == "LessThanThreshold"
    cpu = alarm(stack, "DatabaseCpuHigh")
    assert cpu["MetricName"] == "CPUUtilization" and cpu["Threshold"] == 80
    for props in (storage, cpu):
        assert props["Namespace"] == "AWS/RDS"
        assert [ref(d["Value"]) for d in props["Dimensions"]] == [db]


def test_alarms_notify_an_encrypted_topic(stack: Synthesized) -> None:
    topic, body = stack.one("AWS::SNS::Topic")
    assert ref(body["Properties"]["KmsMasterKeyId"]) == stack.logical(
        "AWS::KMS::Key", "KeysDataKey"
    )
    names = (
        "ErrorRate",
        "JobsQueueDepth",
        "DeadLetterNotEmpty",
        "DatabaseStorageLow",
        "DatabaseCpuHigh",
    )
    for name in names:
        assert [ref(a) for a in alarm(stack, name)["AlarmActions"]] == [topic]
