"""Amazon MQ for RabbitMQ: private, AMQPS only (port 5671), credentials in Secrets Manager."""

from __future__ import annotations

import json

from aws_cdk import Fn, RemovalPolicy
from aws_cdk import aws_amazonmq as mq
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from .config import APP_USER, EnvConfig
from .network import ISOLATED

ENGINE_VERSION = "3.13"


class Broker(Construct):
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
        self.name = f"consulta-{config.name}"
        self.secret = sm.Secret(
            self,
            "Credentials",
            secret_name=f"consulta/{config.name}/broker",
            description="Consulta's RabbitMQ user",
            encryption_key=key,
            generate_secret_string=sm.SecretStringGenerator(
                secret_string_template=json.dumps({"username": APP_USER}),
                generate_string_key="password",
                # Amazon MQ refuses , : = in passwords; the app puts it in an amqps:// URL.
                exclude_punctuation=True,
                password_length=32,
            ),
        )
        self.secret.apply_removal_policy(
            RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY
        )
        subnets = vpc.select_subnets(subnet_type=ISOLATED.subnet_type).subnet_ids
        self.broker = mq.CfnBroker(
            self,
            "RabbitMq",
            broker_name=self.name,
            engine_type="RABBITMQ",
            engine_version=ENGINE_VERSION,
            host_instance_type=config.broker_instance_type,
            deployment_mode="CLUSTER_MULTI_AZ" if config.broker_clustered else "SINGLE_INSTANCE",
            # A single instance lives in one subnet; a cluster spreads over the isolated ones.
            subnet_ids=subnets if config.broker_clustered else subnets[:1],
            security_groups=[security_group.security_group_id],
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            logs=mq.CfnBroker.LogListProperty(general=True),
            maintenance_window_start_time=mq.CfnBroker.MaintenanceWindowProperty(
                day_of_week="SUNDAY", time_of_day="05:00", time_zone="UTC"
            ),
            users=[
                mq.CfnBroker.UserProperty(
                    username=APP_USER,
                    password=self.secret.secret_value_from_json("password").unsafe_unwrap(),
                )
            ],
        )
        # AmqpEndpoints are "amqps://b-<id>.mq.<region>.amazonaws.com:5671"; the app wants the
        # user in the URL and reads the password from CONSULTA_BROKER_SECRET_ID.
        endpoint = Fn.select(0, self.broker.attr_amqp_endpoints)
        host_port = Fn.select(1, Fn.split("amqps://", endpoint))
        self.url = f"amqps://{APP_USER}@{host_port}/"
