"""CloudWatch Logs retention from a day count in context."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from .config import LOG_RETENTION_DAYS

# jsii enums carry names, not numbers; their members follow CloudWatch's list in order.
_BY_DAYS = dict(
    zip(
        LOG_RETENTION_DAYS,
        [member for member in logs.RetentionDays if member is not logs.RetentionDays.INFINITE],
        strict=True,
    )
)


def retention(days: int) -> logs.RetentionDays:
    """The enum member for `days` (config.py already rejected values CloudWatch lacks)."""
    return _BY_DAYS[days]
