"""VPC, subnets and the security groups: every allowed flow is written here and nowhere else."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from .config import AMQPS_PORT, GRPC_PORT, HTTP_SIDE_PORT, LISTENER_PORT, POSTGRES_PORT, EnvConfig
from .log_retention import retention

PUBLIC = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
PRIVATE = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


class Network(Construct):
    """Public subnets hold only the NLB and the NAT gateways; servers and workers live in private
    subnets with egress (provider APIs, AWS APIs, PyPI at boot); RDS and the broker live in
    isolated subnets with no route out at all."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvConfig, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            # Two AZs keep the stack environment-agnostic (synthesizes without an account).
            max_azs=2,
            nat_gateways=config.nat_gateways,
            # The default security group is attached to nothing here; restricting it would need
            # CDK's custom-resource Lambda (see checkov-skips.toml, CKV2_AWS_12).
            restrict_default_security_group=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
                ec2.SubnetConfiguration(
                    name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
        )
        # Audio goes to S3 through the free gateway endpoint rather than the NAT gateway.
        self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[PRIVATE]
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=retention(config.log_retention_days),
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

        def group(name: str, description: str) -> ec2.SecurityGroup:
            return ec2.SecurityGroup(
                self, name, vpc=self.vpc, description=description, allow_all_outbound=False
            )

        self.nlb_sg = group("NlbSg", "Consulta NLB: clients in, servers out")
        self.server_sg = group("ServerSg", "Consulta gRPC servers")
        self.worker_sg = group("WorkerSg", "Consulta workers")
        self.database_sg = group("DatabaseSg", "Consulta PostgreSQL")
        self.broker_sg = group("BrokerSg", "Consulta RabbitMQ broker")

        self.nlb_sg.add_ingress_rule(
            ec2.Peer.ipv4(config.client_cidr),
            ec2.Port.tcp(LISTENER_PORT),
            "gRPC clients to the listener",
        )
        # connections.allow_* writes both sides: ingress on the target, egress on the source.
        self.server_sg.connections.allow_from(self.nlb_sg, ec2.Port.tcp(GRPC_PORT), "NLB to gRPC")
        self.server_sg.connections.allow_from(
            self.nlb_sg, ec2.Port.tcp(HTTP_SIDE_PORT), "NLB health check to /readyz"
        )
        for app_sg, who in ((self.server_sg, "servers"), (self.worker_sg, "workers")):
            self.database_sg.connections.allow_from(
                app_sg, ec2.Port.tcp(POSTGRES_PORT), f"{who} to PostgreSQL"
            )
            self.broker_sg.connections.allow_from(
                app_sg, ec2.Port.tcp(AMQPS_PORT), f"{who} to AMQPS"
            )
            # HTTPS out: Secrets Manager, KMS, S3, CloudWatch, the provider APIs (OpenAI, Groq)
            # and PyPI while the instance boots. No other port leaves these instances.
            app_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), f"{who} to HTTPS APIs")
