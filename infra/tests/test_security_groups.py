"""Every network flow the stacks allow, compared as a whole: nothing more, nothing less."""

from __future__ import annotations

from typing import Any

from cfn import ref
from conftest import Synthesized
from consulta_infra.config import (
    AMQPS_PORT,
    GRPC_PORT,
    HTTP_SIDE_PORT,
    LISTENER_PORT,
    POSTGRES_PORT,
)

GROUPS = {
    "NetworkNlbSg": "nlb",
    "NetworkServerSg": "server",
    "NetworkWorkerSg": "worker",
    "NetworkDatabaseSg": "database",
    "NetworkBrokerSg": "broker",
}
# CDK's stand-in rule for "no egress at all" on a group with allow_all_outbound=False.
NO_EGRESS = {"CidrIp": "255.255.255.255/32", "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86}

Rule = tuple[str, str, str, str, int, int]  # direction, group, peer, protocol, from, to


def group_names(stack: Synthesized) -> dict[str, str]:
    names: dict[str, str] = {}
    for logical in stack.resources("AWS::EC2::SecurityGroup"):
        matches = [name for prefix, name in GROUPS.items() if logical.startswith(prefix)]
        assert len(matches) == 1, f"unexpected security group {logical}"
        names[logical] = matches[0]
    return names


def peer(rule: dict[str, Any], names: dict[str, str]) -> str:
    for key in ("SourceSecurityGroupId", "DestinationSecurityGroupId"):
        if key in rule:
            return names[str(ref(rule[key]))]
    return str(rule.get("CidrIp") or rule.get("CidrIpv6") or rule)


def rules(stack: Synthesized) -> set[Rule]:
    names = group_names(stack)
    found: set[Rule] = set()

    def add(direction: str, group: str, rule: dict[str, Any]) -> None:
        if direction == "egress" and all(rule.get(k) == v for k, v in NO_EGRESS.items()):
            return
        found.add(
            (
                direction,
                group,
                peer(rule, names),
                rule["IpProtocol"],
                rule.get("FromPort", -1),
                rule.get("ToPort", -1),
            )
        )

    for logical, body in stack.resources("AWS::EC2::SecurityGroup").items():
        for rule in body["Properties"].get("SecurityGroupIngress", []):
            add("ingress", names[logical], rule)
        for rule in body["Properties"].get("SecurityGroupEgress", []):
            add("egress", names[logical], rule)
    for kind, direction in (
        ("AWS::EC2::SecurityGroupIngress", "ingress"),
        ("AWS::EC2::SecurityGroupEgress", "egress"),
    ):
        for body in stack.resources(kind).values():
            props = body["Properties"]
            add(direction, names[str(ref(props["GroupId"]))], props)
    return found


def tcp(direction: str, group: str, peer_: str, port: int) -> Rule:
    return (direction, group, peer_, "tcp", port, port)


def test_exactly_the_flows_of_the_design(stack: Synthesized) -> None:
    expected = {
        tcp("ingress", "nlb", stack.config.client_cidr, LISTENER_PORT),
        tcp("egress", "nlb", "server", GRPC_PORT),
        tcp("egress", "nlb", "server", HTTP_SIDE_PORT),
        tcp("ingress", "server", "nlb", GRPC_PORT),
        tcp("ingress", "server", "nlb", HTTP_SIDE_PORT),
        tcp("ingress", "database", "server", POSTGRES_PORT),
        tcp("ingress", "database", "worker", POSTGRES_PORT),
        tcp("ingress", "broker", "server", AMQPS_PORT),
        tcp("ingress", "broker", "worker", AMQPS_PORT),
    }
    for app in ("server", "worker"):
        expected |= {
            tcp("egress", app, "database", POSTGRES_PORT),
            tcp("egress", app, "broker", AMQPS_PORT),
            # AWS APIs, provider APIs and PyPI: HTTPS only.
            tcp("egress", app, "0.0.0.0/0", 443),
        }
    actual = rules(stack)
    assert actual - expected == set(), "flows open that the design does not allow"
    assert expected - actual == set(), "flows of the design missing"


def test_data_tier_cannot_reach_out(stack: Synthesized) -> None:
    for logical, name in group_names(stack).items():
        if name in ("database", "broker"):
            egress = stack.template["Resources"][logical]["Properties"]["SecurityGroupEgress"]
            assert egress == [{**NO_EGRESS, "Description": "Disallow all traffic"}]


def test_each_resource_wears_its_own_group(stack: Synthesized) -> None:
    names = group_names(stack)

    def groups_of(value: list[Any]) -> set[str]:
        return {names[str(ref(item))] for item in value}

    _, nlb = stack.one("AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert groups_of(nlb["Properties"]["SecurityGroups"]) == {"nlb"}
    _, db = stack.one("AWS::RDS::DBInstance")
    assert groups_of(db["Properties"]["VPCSecurityGroups"]) == {"database"}
    _, broker = stack.one("AWS::AmazonMQ::Broker")
    assert groups_of(broker["Properties"]["SecurityGroups"]) == {"broker"}
    for prefix, name in (("Servers", "server"), ("Workers", "worker")):
        _, template = stack.one("AWS::EC2::LaunchTemplate", prefix)
        data = template["Properties"]["LaunchTemplateData"]
        assert groups_of(data["SecurityGroupIds"]) == {name}
