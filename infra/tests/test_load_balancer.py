"""The NLB, its listener (TLS or pass-through by context) and the server target group."""

from __future__ import annotations

from aws_cdk.assertions import Match
from cfn import ref
from conftest import Synthesized, synthesize
from consulta_infra.config import (
    DEREGISTRATION_DELAY_SECONDS,
    GRPC_PORT,
    HTTP_SIDE_PORT,
    SHUTDOWN_GRACE_SECONDS,
    SYSTEMD_STOP_TIMEOUT_SECONDS,
)


def test_internet_facing_nlb_in_public_subnets(stack: Synthesized) -> None:
    _, nlb = stack.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
    props = nlb["Properties"]
    assert props["Type"] == "network"
    assert props["Scheme"] == "internet-facing"
    subnets = {str(ref(s)) for s in props["Subnets"]}
    assert subnets and all(s.startswith("NetworkVpcpublicSubnet") for s in subnets)
    attributes = {a["Key"]: a["Value"] for a in props["LoadBalancerAttributes"]}
    assert attributes["load_balancing.cross_zone.enabled"] == "true"
    assert (
        attributes["deletion_protection.enabled"] == str(stack.config.deletion_protection).lower()
    )


def test_target_group_checks_readyz_on_side_port(stack: Synthesized) -> None:
    stack.assertions.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "Port": GRPC_PORT,
            "Protocol": "TCP",
            "TargetType": "instance",
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPort": str(HTTP_SIDE_PORT),
            "HealthCheckPath": "/readyz",
            "Matcher": {"HttpCode": "200"},
            "TargetGroupAttributes": Match.array_with(
                [
                    {
                        "Key": "deregistration_delay.timeout_seconds",
                        "Value": str(DEREGISTRATION_DELAY_SECONDS),
                    }
                ]
            ),
        },
    )


def test_drain_timeouts_nest() -> None:
    # The app drains, the NLB keeps the target a little longer, systemd waits longer still.
    assert SHUTDOWN_GRACE_SECONDS < DEREGISTRATION_DELAY_SECONDS < SYSTEMD_STOP_TIMEOUT_SECONDS


def test_server_group_registers_with_target_group(stack: Synthesized) -> None:
    group_name, _ = stack.one("AWS::ElasticLoadBalancingV2::TargetGroup")
    _, servers = stack.one("AWS::AutoScaling::AutoScalingGroup", "Servers")
    assert [ref(arn) for arn in servers["Properties"]["TargetGroupARNs"]] == [group_name]
    _, workers = stack.one("AWS::AutoScaling::AutoScalingGroup", "Workers")
    assert "TargetGroupARNs" not in workers["Properties"]


def test_prod_terminates_tls_at_nlb_with_certificate_parameter(prod: Synthesized) -> None:
    assert prod.config.tls_mode == "nlb"
    assert prod.template["Parameters"]["CertificateArn"]["Type"] == "String"
    _, listener = prod.one("AWS::ElasticLoadBalancingV2::Listener")
    props = listener["Properties"]
    assert props["Port"] == 443
    assert props["Protocol"] == "TLS"
    assert props["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert props["AlpnPolicy"] == ["HTTP2Only"]  # gRPC needs h2 negotiated by ALPN
    assert props["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")


def test_dev_passes_tls_through_to_the_server(dev: Synthesized) -> None:
    assert dev.config.tls_mode == "passthrough"
    assert "CertificateArn" not in dev.template["Parameters"]
    _, listener = dev.one("AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Properties"]["Protocol"] == "TCP"
    assert listener["Properties"]["Port"] == 443
    assert "Certificates" not in listener["Properties"]


def test_context_on_the_command_line_switches_tls_mode(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    # What `cdk synth -c env=dev -c tlsMode=nlb` does.
    switched = synthesize("dev", tmp_path_factory.mktemp("dev-nlb"), tlsMode="nlb")
    assert switched.config.tls_mode == "nlb"
    _, listener = switched.one("AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Properties"]["Protocol"] == "TLS"
    assert "CertificateArn" in switched.template["Parameters"]
