"""Log groups, the alarm topic and the alarms.

Error rate: the app's Prometheus counters stay on the instances (/metrics); for CloudWatch a
metric filter counts ERROR and CRITICAL lines in the server and worker log groups, which needs
no agent-side scraping and catches errors from any code path, not only RPC handlers.
Queue depths come from Amazon MQ's own per-queue MessageCount metric.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from .config import BROKER_VHOST, DEAD_LETTER_QUEUE, JOBS_QUEUE, EnvConfig
from .log_retention import retention

ERROR_PATTERN = logs.FilterPattern.any_term("ERROR", "CRITICAL")


def queue_depth(broker_name: str, queue: str, period: Duration) -> cloudwatch.Metric:
    """Messages in a RabbitMQ queue (ready and unacknowledged), as Amazon MQ publishes it."""
    return cloudwatch.Metric(
        namespace="AWS/AmazonMQ",
        metric_name="MessageCount",
        dimensions_map={"Broker": broker_name, "VirtualHost": BROKER_VHOST, "Queue": queue},
        statistic="Maximum",
        period=period,
    )


class Logs(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvConfig, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.namespace = f"Consulta/{config.name}"
        removal = RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY
        self.groups: dict[str, logs.LogGroup] = {}
        self.error_metrics: dict[str, cloudwatch.Metric] = {}
        for role in ("server", "worker"):
            group = logs.LogGroup(
                self,
                f"{role.capitalize()}Logs",
                log_group_name=f"/consulta/{config.name}/{role}",
                retention=retention(config.log_retention_days),
                encryption_key=key,
                removal_policy=removal,
            )
            metric_name = f"{role.capitalize()}ErrorLines"
            group.add_metric_filter(
                f"{role.capitalize()}Errors",
                filter_pattern=ERROR_PATTERN,
                metric_namespace=self.namespace,
                metric_name=metric_name,
                metric_value="1",
                default_value=0,
            )
            self.groups[role] = group
            self.error_metrics[role] = cloudwatch.Metric(
                namespace=self.namespace,
                metric_name=metric_name,
                statistic="Sum",
                period=Duration.minutes(5),
            )


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        key: kms.IKey,
        logs_: Logs,
        broker_name: str,
        database: rds.DatabaseInstance,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "Topic", display_name=f"Consulta {config.name} alarms", master_key=key
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        five = Duration.minutes(5)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        def alarm(name: str, **props: object) -> None:
            created = cloudwatch.Alarm(self, name, **props)  # type: ignore[arg-type]
            created.add_alarm_action(actions.SnsAction(self.topic))
            created.add_ok_action(actions.SnsAction(self.topic))
            self.alarms[name] = created

        alarm(
            "ErrorRate",
            alarm_description="ERROR or CRITICAL log lines from servers and workers, per 5 min",
            metric=cloudwatch.MathExpression(
                expression="server + worker",
                using_metrics={
                    "server": logs_.error_metrics["server"],
                    "worker": logs_.error_metrics["worker"],
                },
                period=five,
                label="Error log lines",
            ),
            threshold=config.error_alarm_lines_per5_min,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm(
            "JobsQueueDepth",
            alarm_description=f"{JOBS_QUEUE} backlog stays high: workers cannot keep up",
            metric=queue_depth(broker_name, JOBS_QUEUE, five),
            threshold=config.jobs_queue_alarm_depth,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm(
            "DeadLetterNotEmpty",
            alarm_description=f"{DEAD_LETTER_QUEUE} holds jobs that failed every attempt",
            metric=queue_depth(broker_name, DEAD_LETTER_QUEUE, five),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm(
            "DatabaseStorageLow",
            alarm_description="PostgreSQL free storage below 10% of the allocated size",
            metric=database.metric_free_storage_space(period=five, statistic="Minimum"),
            threshold=config.database_allocated_storage_gib * (1 << 30) // 10,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm(
            "DatabaseCpuHigh",
            alarm_description="PostgreSQL CPU above 80% for 15 minutes",
            metric=database.metric_cpu_utilization(period=five, statistic="Average"),
            threshold=80,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
