"""RDS PostgreSQL in the isolated subnets, credentials in Secrets Manager."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Resource
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from .config import APP_USER, DATABASE_NAME, POSTGRES_PORT, EnvConfig
from .network import ISOLATED

ENGINE = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_16_13)


class Database(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        parameters = rds.ParameterGroup(
            self,
            "Parameters",
            engine=ENGINE,
            description="Consulta: TLS only, slow statements logged",
            parameters={
                "rds.force_ssl": "1",
                "log_min_duration_statement": "1000",
            },
        )
        self.instance = rds.DatabaseInstance(
            self,
            "Postgres",
            engine=ENGINE,
            instance_type=ec2.InstanceType(config.database_instance_type),
            vpc=vpc,
            vpc_subnets=ISOLATED,
            security_groups=[security_group],
            port=POSTGRES_PORT,
            database_name=DATABASE_NAME,
            credentials=rds.Credentials.from_generated_secret(
                APP_USER,
                secret_name=f"consulta/{config.name}/database",
                encryption_key=key,
                # The app builds a URL from these; punctuation would need escaping there.
                exclude_characters=" %+~`#$&*()|[]{}:;<>?!'/@\"\\",
            ),
            parameter_group=parameters,
            storage_type=rds.StorageType.GP3,
            allocated_storage=config.database_allocated_storage_gib,
            max_allocated_storage=config.database_max_allocated_storage_gib,
            storage_encrypted=True,
            storage_encryption_key=key,
            multi_az=config.database_multi_az,
            backup_retention=Duration.days(config.database_backup_retention_days),
            preferred_backup_window="03:00-04:00",
            preferred_maintenance_window="sun:04:30-sun:05:30",
            copy_tags_to_snapshot=True,
            deletion_protection=config.deletion_protection,
            removal_policy=(
                RemovalPolicy.SNAPSHOT if config.deletion_protection else RemovalPolicy.DESTROY
            ),
            delete_automated_backups=not config.deletion_protection,
            auto_minor_version_upgrade=True,
            iam_authentication=True,
            cloudwatch_logs_exports=["postgresql"],
            monitoring_interval=Duration.seconds(60),
            enable_performance_insights=config.performance_insights,
            performance_insight_encryption_key=key if config.performance_insights else None,
            publicly_accessible=False,
        )
        assert self.instance.secret is not None  # from_generated_secret always makes one
        self.secret = self.instance.secret
        # `secret` is the attachment; the generated secret itself is the instance's child.
        generated = self.instance.node.find_child("Secret")
        assert isinstance(generated, Resource)
        generated.apply_removal_policy(
            RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY
        )
