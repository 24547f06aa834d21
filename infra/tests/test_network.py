"""VPC layout: public for the NLB, private for the fleets, isolated for the data tier."""

from __future__ import annotations

from typing import Any

from cfn import ref
from conftest import Synthesized


def routes_by_subnet(stack: Synthesized) -> dict[str, list[dict[str, Any]]]:
    table_of = {
        str(ref(a["Properties"]["SubnetId"])): str(ref(a["Properties"]["RouteTableId"]))
        for a in stack.resources("AWS::EC2::SubnetRouteTableAssociation").values()
    }
    routes: dict[str, list[dict[str, Any]]] = {}
    for route in stack.resources("AWS::EC2::Route").values():
        routes.setdefault(str(ref(route["Properties"]["RouteTableId"])), []).append(
            route["Properties"]
        )
    return {subnet: routes.get(table, []) for subnet, table in table_of.items()}


def test_three_tiers_in_two_azs(stack: Synthesized) -> None:
    _, vpc = stack.one("AWS::EC2::VPC")
    assert vpc["Properties"]["CidrBlock"] == stack.config.vpc_cidr
    subnets = stack.resources("AWS::EC2::Subnet")
    tiers: dict[str, list[str]] = {}
    for name, body in subnets.items():
        tier = next(
            t["Value"] for t in body["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name"
        )
        tiers.setdefault(tier, []).append(name)
    assert {tier: len(names) for tier, names in tiers.items()} == {"public": 2, "app": 2, "data": 2}
    routes = routes_by_subnet(stack)
    for name in tiers["public"]:
        assert subnets[name]["Properties"]["MapPublicIpOnLaunch"] is True
        assert any("GatewayId" in r for r in routes[name])
    for name in tiers["app"]:
        assert subnets[name]["Properties"]["MapPublicIpOnLaunch"] is False
        default = [r for r in routes[name] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        assert len(default) == 1 and "NatGatewayId" in default[0]
    for name in tiers["data"]:
        assert subnets[name]["Properties"]["MapPublicIpOnLaunch"] is False
        assert routes[name] == [], "isolated subnets must have no route out"


def test_nat_gateways_per_environment(stack: Synthesized) -> None:
    assert len(stack.resources("AWS::EC2::NatGateway")) == stack.config.nat_gateways


def test_s3_gateway_endpoint_and_flow_logs(stack: Synthesized) -> None:
    _, endpoint = stack.one("AWS::EC2::VPCEndpoint")
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert "s3" in str(endpoint["Properties"]["ServiceName"])
    _, flow = stack.one("AWS::EC2::FlowLog")
    assert flow["Properties"]["ResourceType"] == "VPC"
    assert flow["Properties"]["LogDestinationType"] == "cloud-watch-logs"
