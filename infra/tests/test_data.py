"""RDS PostgreSQL, Amazon MQ for RabbitMQ, the audio bucket, secrets and KMS keys."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match
from cfn import ref
from conftest import Synthesized


def props(stack: Synthesized, kind: str, prefix: str = "") -> dict[str, Any]:
    return stack.one(kind, prefix)[1]["Properties"]


def test_postgres_encrypted_private_with_backups(stack: Synthesized) -> None:
    config = stack.config
    db = props(stack, "AWS::RDS::DBInstance")
    assert db["Engine"] == "postgres" and db["EngineVersion"].startswith("16.")
    assert db["StorageEncrypted"] is True
    assert ref(db["KmsKeyId"]) == stack.logical("AWS::KMS::Key", "KeysDataKey")
    assert db["PubliclyAccessible"] is False
    assert db["BackupRetentionPeriod"] == config.database_backup_retention_days
    assert db["AllocatedStorage"] == str(config.database_allocated_storage_gib)
    assert db["DBInstanceClass"] == f"db.{config.database_instance_type}"
    assert db["MasterUsername"] == "consulta"
    assert "{{resolve:secretsmanager:" in str(db["MasterUserPassword"])
    subnet_group = props(stack, "AWS::RDS::DBSubnetGroup")
    assert all(str(ref(s)).startswith("NetworkVpcdataSubnet") for s in subnet_group["SubnetIds"])
    parameters = props(stack, "AWS::RDS::DBParameterGroup")["Parameters"]
    assert parameters["rds.force_ssl"] == "1"


def test_prod_database_is_multi_az_and_protected(prod: Synthesized, dev: Synthesized) -> None:
    _, body = prod.one("AWS::RDS::DBInstance")
    assert body["Properties"]["MultiAZ"] is True
    assert body["Properties"]["DeletionProtection"] is True
    assert body["DeletionPolicy"] == "Snapshot"
    _, dev_body = dev.one("AWS::RDS::DBInstance")
    assert dev_body["Properties"]["MultiAZ"] is False
    assert dev_body["Properties"]["DeletionProtection"] is False


def test_broker_private_rabbitmq_tls(stack: Synthesized) -> None:
    broker = props(stack, "AWS::AmazonMQ::Broker")
    assert broker["EngineType"] == "RABBITMQ"
    assert broker["PubliclyAccessible"] is False
    assert broker["BrokerName"] == f"consulta-{stack.config.name}"
    assert broker["Logs"] == {"General": True}
    assert all(str(ref(s)).startswith("NetworkVpcdataSubnet") for s in broker["SubnetIds"])
    secret = stack.logical("AWS::SecretsManager::Secret", "BrokerCredentials")
    (user,) = broker["Users"]
    assert user["Username"] == "consulta"
    assert ref(user["Password"]["Fn::Join"][1][1]) == secret
    # RabbitMQ on Amazon MQ speaks AMQP only over TLS; the app is pointed at amqps://:5671.
    expected_mode = "CLUSTER_MULTI_AZ" if stack.config.broker_clustered else "SINGLE_INSTANCE"
    assert broker["DeploymentMode"] == expected_mode
    assert len(broker["SubnetIds"]) == (2 if stack.config.broker_clustered else 1)


def test_audio_bucket_private_kms_tls_only_with_retention(stack: Synthesized) -> None:
    bucket_name, body = stack.one("AWS::S3::Bucket")
    bucket = body["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (sse,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    audio_key = stack.logical("AWS::KMS::Key", "KeysAudioKey")
    assert ref(sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]) == audio_key
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["audio-retention"]["ExpirationInDays"] == stack.config.audio_retention_days
    assert rules["audio-retention"]["Prefix"] == "audio/"
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    policy = props(stack, "AWS::S3::BucketPolicy")
    assert ref(policy["Bucket"]) == bucket_name
    deny_plain = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
        and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(deny_plain) == 1 and deny_plain[0]["Action"] == "s3:*"


def test_keys_rotate_and_audio_has_its_own(stack: Synthesized) -> None:
    keys = stack.resources("AWS::KMS::Key")
    assert len(keys) == 2
    assert all(body["Properties"]["EnableKeyRotation"] is True for body in keys.values())


def test_secrets_encrypted_and_named_per_environment(stack: Synthesized) -> None:
    data_key = stack.logical("AWS::KMS::Key", "KeysDataKey")
    secrets = stack.resources("AWS::SecretsManager::Secret")
    names = {body["Properties"]["Name"] for body in secrets.values()}
    env = stack.config.name
    assert names == {
        f"consulta/{env}/database",
        f"consulta/{env}/broker",
        f"consulta/{env}/jwt-signing-key",
        f"consulta/{env}/provider-keys",
    }
    assert all(ref(body["Properties"]["KmsKeyId"]) == data_key for body in secrets.values())
    stack.assertions.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": f"consulta/{env}/provider-keys",
            "SecretString": Match.serialized_json({"OPENAI_API_KEY": "", "GROQ_API_KEY": ""}),
        },
    )


def test_prod_keeps_data_when_the_stack_goes(prod: Synthesized, dev: Synthesized) -> None:
    for kind in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SecretsManager::Secret"):
        assert {b["DeletionPolicy"] for b in prod.resources(kind).values()} == {"Retain"}
        assert {b["DeletionPolicy"] for b in dev.resources(kind).values()} == {"Delete"}
