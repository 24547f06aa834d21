"""Network Load Balancer in front of the gRPC servers.

An NLB cannot speak gRPC health checking, so targets are checked over HTTP on the side port's
/readyz, which answers 200 only while the server is SERVING; a draining server drops out of
rotation before it stops accepting streams.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from .config import (
    DEREGISTRATION_DELAY_SECONDS,
    GRPC_PORT,
    HTTP_SIDE_PORT,
    LISTENER_PORT,
    EnvConfig,
)
from .network import PUBLIC


class LoadBalancer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        certificate_arn: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.nlb = elbv2.NetworkLoadBalancer(
            self,
            "Nlb",
            vpc=vpc,
            vpc_subnets=PUBLIC,
            internet_facing=True,
            cross_zone_enabled=True,
            security_groups=[security_group],
            deletion_protection=config.deletion_protection,
        )
        self.target_group = elbv2.NetworkTargetGroup(
            self,
            "Servers",
            vpc=vpc,
            port=GRPC_PORT,
            protocol=elbv2.Protocol.TCP,
            target_type=elbv2.TargetType.INSTANCE,
            # Longer than the server's drain grace: the NLB keeps existing streams flowing
            # while the server finishes them.
            deregistration_delay=Duration.seconds(DEREGISTRATION_DELAY_SECONDS),
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.HTTP,
                port=str(HTTP_SIDE_PORT),
                path="/readyz",
                healthy_http_codes="200",
                interval=Duration.seconds(10),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=2,
            ),
        )
        if config.tls_mode == "nlb":
            if certificate_arn is None:
                raise ValueError("tlsMode 'nlb' needs a certificate ARN")
            # TLS ends here; ALPN must offer h2 or gRPC clients cannot negotiate HTTP/2.
            self.listener = self.nlb.add_listener(
                "Grpc",
                port=LISTENER_PORT,
                protocol=elbv2.Protocol.TLS,
                certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                alpn_policy=elbv2.AlpnPolicy.HTTP2_ONLY,
                default_target_groups=[self.target_group],
            )
        else:
            # Pass-through: bytes go to the server untouched and the server terminates TLS.
            self.listener = self.nlb.add_listener(
                "Grpc",
                port=LISTENER_PORT,
                protocol=elbv2.Protocol.TCP,
                default_target_groups=[self.target_group],
            )
