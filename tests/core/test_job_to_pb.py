"""A job row as protobuf (core/codec.py job_to_pb): its times as Timestamp.FromDatetime gives
them, its configuration as json_format parses it, each job's message its own."""

from __future__ import annotations

from datetime import UTC, datetime

from consulta.v1 import job_pb2
from google.protobuf import json_format, timestamp_pb2

from core.codec import config_to_json, job_to_pb
from tests.support.jobs import new_job_row

TIMES = [
    datetime(2026, 12, 2, 13, 7, 43, 123456),
    datetime(1970, 1, 1),
    datetime(1969, 12, 31, 23, 59, 59, 999999),
    datetime(2038, 1, 19, 3, 14, 8, 1),
]


def test_times_are_those_fromdatetime_gives() -> None:
    row = new_job_row()
    for created, updated in zip(TIMES, reversed(TIMES), strict=True):
        row.created_at, row.updated_at = created, updated
        job = job_to_pb(row)
        for got, value in ((job.create_time, created), (job.update_time, updated)):
            want = timestamp_pb2.Timestamp()
            want.FromDatetime(value.replace(tzinfo=UTC))
            assert (got.seconds, got.nanos) == (want.seconds, want.nanos), value


def test_the_configuration_is_the_stored_one_and_each_jobs_own() -> None:
    row = new_job_row()
    row.created_at = row.updated_at = TIMES[0]
    config = job_pb2.JobConfig(language_code="de", idempotency_key="k-1")
    row.config_json = config_to_json(config)
    first = job_to_pb(row)
    assert first.config == json_format.Parse(row.config_json, job_pb2.JobConfig())
    first.config.language_code = "fr"  # a caller changing its copy...
    assert job_to_pb(row).config.language_code == "de"  # ...changes no later read
    row.config_json = config_to_json(job_pb2.JobConfig())
    assert job_to_pb(row).HasField("config")  # present though every field is default
