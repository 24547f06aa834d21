"""An Auto Scaling group of Consulta instances of one role (server or worker)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jsii
from aws_cdk import Duration
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import user_data
from .network import PRIVATE


@jsii.implements(ec2.IMachineImage)
class ParameterImage:
    """The AMI comes from the AmiId stack parameter, so it is chosen at deploy time."""

    def __init__(self, image_id: str) -> None:
        self._image_id = image_id

    def get_image(self, scope: Construct) -> ec2.MachineImageConfig:
        return ec2.MachineImageConfig(
            image_id=self._image_id,
            os_type=ec2.OperatingSystemType.LINUX,
            user_data=ec2.UserData.for_linux(),
        )


@dataclass(frozen=True)
class FleetSpec:
    service: user_data.Service
    instance_type: str
    min_capacity: int
    max_capacity: int
    env: Mapping[str, str]
    consulta_version: str
    image_id: str
    artifact_uri: str


class Fleet(Construct):
    """Launch template (IMDSv2 only, encrypted root volume, no SSH key: Session Manager only),
    instance role with nothing but the log group it writes and SSM, and the group itself.
    Callers add the grants specific to the role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FleetSpec,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        log_group: logs.ILogGroup,
        health_checks: autoscaling.HealthChecks,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description=f"Consulta {spec.service.role} instances",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")
            ],
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ShipLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"],
            )
        )
        boot = ec2.UserData.for_linux()
        boot.add_commands(
            *user_data.commands(
                spec.service,
                env=spec.env,
                consulta_version=spec.consulta_version,
                artifact_uri=spec.artifact_uri,
                log_group_name=log_group.log_group_name,
            )
        )
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=ParameterImage(spec.image_id),
            instance_type=ec2.InstanceType(spec.instance_type),
            user_data=boot,
            role=self.role,
            security_group=security_group,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            detailed_monitoring=True,
            ebs_optimized=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        20,
                        encrypted=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        self.group = autoscaling.AutoScalingGroup(
            self,
            "Group",
            vpc=vpc,
            vpc_subnets=PRIVATE,
            launch_template=self.launch_template,
            min_capacity=spec.min_capacity,
            max_capacity=spec.max_capacity,
            health_checks=health_checks,
            default_instance_warmup=Duration.minutes(3),
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=1,
                min_instances_in_service=spec.min_capacity,
                pause_time=Duration.minutes(5),
            ),
            group_metrics=[autoscaling.GroupMetrics.all()],
        )
