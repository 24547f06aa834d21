"""Customer-managed KMS keys: one for audio, one for everything else at rest."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .config import EnvConfig


class Keys(Construct):
    """The audio bucket has a key of its own so that access to recordings can be granted, audited
    and revoked apart from the database, secrets, logs and alarm topic, which share `data`."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY
        self.audio = kms.Key(
            self,
            "AudioKey",
            description=f"Consulta {config.name}: SSE-KMS for consultation audio in S3",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self.data = kms.Key(
            self,
            "DataKey",
            description=f"Consulta {config.name}: RDS, secrets, logs and the alarm topic",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        # CloudWatch Logs encrypts with the key itself, so the key policy must name the service,
        # limited to this account's log groups.
        self.data.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsUse",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )
        # Alarms publish to the encrypted SNS topic as the CloudWatch service.
        self.data.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
