"""The audio bucket: private, SSE-KMS with its own key, TLS only, audio expires."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .config import AUDIO_PREFIX, EnvConfig


class AudioStore(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvConfig, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.prefix = AUDIO_PREFIX
        self.bucket = s3.Bucket(
            self,
            "Audio",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            # One data key per bucket instead of one KMS call per object: cheaper, same key.
            bucket_key_enabled=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Versioning guards against an overwrite by mistake; the noncurrent versions expire
            # after a day so that Delete (which erases audio) is complete within a day.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="audio-retention",
                    prefix=f"{AUDIO_PREFIX}/",
                    expiration=Duration.days(config.audio_retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                # Uploads stream in multipart parts; a broken upload that is never resumed must
                # not keep its parts (and their cost) forever.
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=(
                RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY
            ),
        )
        self.objects_arn = self.bucket.arn_for_objects(f"{AUDIO_PREFIX}/*")
        self.url = f"s3://{self.bucket.bucket_name}/{AUDIO_PREFIX}"
