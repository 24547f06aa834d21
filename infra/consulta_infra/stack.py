"""ConsultaDev / ConsultaProd: one stack per environment, the same shape, sizes from context."""

from __future__ import annotations

from aws_cdk import Aws, CfnCondition, CfnOutput, CfnParameter, Duration, Fn, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_iam as iam
from constructs import Construct

from . import user_data
from .app_secrets import AppSecrets
from .broker import Broker
from .config import (
    APP_USER,
    DATABASE_NAME,
    GRPC_PORT,
    HTTP_SIDE_PORT,
    JOBS_QUEUE,
    POSTGRES_PORT,
    SHUTDOWN_GRACE_SECONDS,
    EnvConfig,
)
from .database import Database
from .encryption import Keys
from .fleet import Fleet, FleetSpec
from .load_balancer import LoadBalancer
from .monitoring import Alarms, Logs, queue_depth
from .network import Network
from .storage import AudioStore


class ConsultaStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Consulta {config.name}: gRPC servers and workers behind an NLB",
        )
        self.config = config
        ami = CfnParameter(
            self,
            "AmiId",
            type="AWS::EC2::Image::Id",
            description="Amazon Linux 2023 (x86_64) AMI for servers and workers",
        )
        artifact = CfnParameter(
            self,
            "ArtifactUri",
            type="String",
            default="",
            allowed_pattern="^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+)?$",
            description="Optional s3://bucket/key of a consulta wheel to install instead of "
            f"consulta=={config.consulta_version} from PyPI",
        )
        certificate_arn: str | None = None
        if config.tls_mode == "nlb":
            certificate_arn = CfnParameter(
                self,
                "CertificateArn",
                type="String",
                allowed_pattern="^arn:aws[a-z-]*:acm:.+$",
                description="ACM certificate for the NLB's TLS listener",
            ).value_as_string

        keys = Keys(self, "Keys", config=config)
        network = Network(self, "Network", config=config, key=keys.data)
        audio = AudioStore(self, "Storage", config=config, key=keys.audio)
        database = Database(
            self,
            "Database",
            config=config,
            vpc=network.vpc,
            security_group=network.database_sg,
            key=keys.data,
        )
        broker = Broker(
            self,
            "Broker",
            config=config,
            vpc=network.vpc,
            security_group=network.broker_sg,
            key=keys.data,
        )
        secrets = AppSecrets(self, "Secrets", config=config, key=keys.data)
        logs_ = Logs(self, "Logs", config=config, key=keys.data)

        shared_env = {
            "AWS_REGION": Aws.REGION,
            "AWS_DEFAULT_REGION": Aws.REGION,
            "CONSULTA_DATA_DIR": user_data.DATA_DIR,
            "CONSULTA_SHUTDOWN_GRACE_SECONDS": str(SHUTDOWN_GRACE_SECONDS),
            "CONSULTA_DATABASE_URL": f"postgresql+asyncpg://{APP_USER}@"
            f"{database.instance.db_instance_endpoint_address}:{POSTGRES_PORT}/{DATABASE_NAME}",
            "CONSULTA_DATABASE_SECRET_ID": database.secret.secret_arn,
            "CONSULTA_BLOB_URL": audio.url,
            "CONSULTA_S3_REGION": Aws.REGION,
            "CONSULTA_S3_SSE": "aws:kms",
            "CONSULTA_S3_KMS_KEY_ID": keys.audio.key_arn,
            "CONSULTA_QUEUE_URL": broker.url,
            "CONSULTA_DATABASE_POOL_SIZE": str(config.database_pool_size),
            "CONSULTA_BROKER_SECRET_ID": broker.secret.secret_arn,
        }
        common = {
            "consulta_version": config.consulta_version,
            "image_id": ami.value_as_string,
            "artifact_uri": artifact.value_as_string,
        }
        server = Fleet(
            self,
            "Servers",
            spec=FleetSpec(
                service=user_data.SERVER,
                instance_type=config.server_instance_type,
                min_capacity=config.server_min_capacity,
                max_capacity=config.server_max_capacity,
                env={
                    **shared_env,
                    "CONSULTA_RUN_WORKER": "false",
                    "CONSULTA_GRPC_LISTEN": f"0.0.0.0:{GRPC_PORT}",
                    "CONSULTA_HTTP_LISTEN": f"0.0.0.0:{HTTP_SIDE_PORT}",
                    "CONSULTA_JWT_SECRET_ID": secrets.jwt.secret_arn,
                },
                **common,  # type: ignore[arg-type]
            ),
            vpc=network.vpc,
            security_group=network.server_sg,
            log_group=logs_.groups["server"],
            # The NLB's /readyz verdict replaces instances that boot but never serve. The grace
            # covers the boot script: dnf, then pip installing consulta and its engine wheels.
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=Duration.minutes(10),
            ),
        )
        worker = Fleet(
            self,
            "Workers",
            spec=FleetSpec(
                service=user_data.WORKER,
                instance_type=config.worker_instance_type,
                min_capacity=config.worker_min_capacity,
                max_capacity=config.worker_max_capacity,
                env={
                    **shared_env,
                    "CONSULTA_WORKER_CONCURRENCY": str(config.worker_concurrency),
                    "CONSULTA_PROVIDER_KEYS_SECRET_ID": secrets.provider_keys.secret_arn,
                },
                **common,  # type: ignore[arg-type]
            ),
            vpc=network.vpc,
            security_group=network.worker_sg,
            log_group=logs_.groups["worker"],
            health_checks=autoscaling.HealthChecks.ec2(grace_period=Duration.minutes(10)),
        )

        # Least privilege: each role reads only the secrets its process uses. Servers write,
        # read and erase audio; workers only read it.
        for secret in (database.secret, broker.secret, secrets.jwt):
            secret.grant_read(server.role)
        for secret in (database.secret, broker.secret, secrets.provider_keys):
            secret.grant_read(worker.role)
        server.role.add_to_policy(
            iam.PolicyStatement(
                sid="AudioObjects",
                actions=[
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                resources=[audio.objects_arn],
            )
        )
        server.role.add_to_policy(
            iam.PolicyStatement(
                sid="AudioListing",
                actions=["s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[audio.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{audio.prefix}/*"]}},
            )
        )
        server.role.add_to_policy(
            iam.PolicyStatement(
                sid="AudioKey",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[keys.audio.key_arn],
            )
        )
        worker.role.add_to_policy(
            iam.PolicyStatement(
                sid="AudioObjects", actions=["s3:GetObject"], resources=[audio.objects_arn]
            )
        )
        worker.role.add_to_policy(
            iam.PolicyStatement(
                sid="AudioKey", actions=["kms:Decrypt"], resources=[keys.audio.key_arn]
            )
        )
        # Reading the artifact is granted only when one is given.
        has_artifact = CfnCondition(
            self,
            "HasArtifact",
            expression=Fn.condition_not(Fn.condition_equals(artifact.value_as_string, "")),
        )
        artifact_policy = iam.Policy(
            self,
            "ArtifactRead",
            statements=[
                iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[
                        f"arn:{Aws.PARTITION}:s3:::"
                        + Fn.select(1, Fn.split("s3://", artifact.value_as_string))
                    ],
                )
            ],
            roles=[server.role, worker.role],
        )
        artifact_policy.node.default_child.cfn_options.condition = has_artifact  # type: ignore[union-attr]

        self.load_balancer = LoadBalancer(
            self,
            "LoadBalancer",
            config=config,
            vpc=network.vpc,
            security_group=network.nlb_sg,
            certificate_arn=certificate_arn,
        )
        self.load_balancer.target_group.add_target(server.group)
        server.group.scale_on_cpu_utilization(
            "CpuTarget", target_utilization_percent=config.server_cpu_target_percent
        )
        # Workers follow the jobs backlog: none waiting for a while, one fewer; a backlog of
        # workerScaleOutBacklog, one more; five times that, three more at once.
        backlog = config.worker_scale_out_backlog
        worker.group.scale_on_metric(
            "JobsBacklog",
            metric=queue_depth(broker.name, JOBS_QUEUE, Duration.minutes(1)),
            scaling_steps=[
                autoscaling.ScalingInterval(upper=0, change=-1),
                autoscaling.ScalingInterval(lower=backlog, change=+1),
                autoscaling.ScalingInterval(lower=backlog * 5, change=+3),
            ],
            adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            evaluation_periods=3,
        )
        self.alarms = Alarms(
            self,
            "Alarms",
            config=config,
            key=keys.data,
            logs_=logs_,
            broker_name=broker.name,
            database=database.instance,
        )
        # Kept for tests and the README: the constructs a reader looks for.
        self.keys, self.network, self.audio, self.database = keys, network, audio, database
        self.broker, self.secrets, self.logs, self.servers, self.workers = (
            broker,
            secrets,
            logs_,
            server,
            worker,
        )
        CfnOutput(self, "Endpoint", value=self.load_balancer.nlb.load_balancer_dns_name)
        CfnOutput(self, "AudioBucket", value=audio.bucket.bucket_name)
        CfnOutput(self, "AlarmTopic", value=self.alarms.topic.topic_arn)
