"""Least privilege: each instance role reaches only what its process uses."""

from __future__ import annotations

from typing import Any

import pytest
from cfn import mentions, ref
from conftest import Synthesized


def statements(stack: Synthesized, role_prefix: str) -> list[dict[str, Any]]:
    role = stack.logical("AWS::IAM::Role", role_prefix)
    found: list[dict[str, Any]] = []
    for body in stack.resources("AWS::IAM::Policy").values():
        if any(ref(r) == role for r in body["Properties"]["Roles"]) and "Condition" not in body:
            found.extend(body["Properties"]["PolicyDocument"]["Statement"])
    return found


def actions(statement: dict[str, Any]) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


@pytest.mark.parametrize("role", ["ServersRole", "WorkersRole"])
def test_no_wildcards(stack: Synthesized, role: str) -> None:
    for statement in statements(stack, role):
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] != "*", statement
        assert not any(a.endswith(":*") or a == "*" for a in actions(statement)), statement


def secrets_read(stack: Synthesized, role: str) -> set[str]:
    secrets = stack.resources("AWS::SecretsManager::Secret")
    attachment = stack.logical("AWS::SecretsManager::SecretTargetAttachment", "Database")
    read: set[str] = set()
    for statement in statements(stack, role):
        if "secretsmanager:GetSecretValue" in actions(statement):
            target = str(ref(statement["Resource"]))
            read.add("database" if target == attachment else secrets[target]["Properties"]["Name"])
    return read


def test_each_role_reads_only_its_secrets(stack: Synthesized) -> None:
    env = stack.config.name
    assert secrets_read(stack, "ServersRole") == {
        "database",
        f"consulta/{env}/broker",
        f"consulta/{env}/jwt-signing-key",
    }
    assert secrets_read(stack, "WorkersRole") == {
        "database",
        f"consulta/{env}/broker",
        f"consulta/{env}/provider-keys",
    }


def audio_actions(stack: Synthesized, role: str) -> set[str]:
    bucket = stack.logical("AWS::S3::Bucket", "Storage")
    key = stack.logical("AWS::KMS::Key", "KeysAudioKey")
    found: set[str] = set()
    for statement in statements(stack, role):
        if mentions(statement["Resource"], bucket) or mentions(statement["Resource"], key):
            found |= actions(statement)
    return found


def test_servers_write_audio_workers_only_read(stack: Synthesized) -> None:
    assert audio_actions(stack, "ServersRole") == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    }
    assert audio_actions(stack, "WorkersRole") == {"s3:GetObject", "kms:Decrypt"}


def test_object_access_limited_to_audio_prefix(stack: Synthesized) -> None:
    for role in ("ServersRole", "WorkersRole"):
        for statement in statements(stack, role):
            if "s3:GetObject" in actions(statement):
                joined = statement["Resource"]["Fn::Join"][1]
                assert joined[-1] == "/audio/*"


def test_artifact_read_only_when_a_uri_is_given(stack: Synthesized) -> None:
    conditioned = [b for b in stack.resources("AWS::IAM::Policy").values() if "Condition" in b]
    assert len(conditioned) == 1
    assert conditioned[0]["Condition"] == "HasArtifact"
    assert stack.template["Conditions"]["HasArtifact"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ArtifactUri"}, ""]}]
    }
    (statement,) = conditioned[0]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "s3:GetObject"


def test_instance_roles_assumed_by_ec2_with_session_manager(stack: Synthesized) -> None:
    for role in ("ServersRole", "WorkersRole"):
        _, body = stack.one("AWS::IAM::Role", role)
        principal = body["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        assert principal == {"Service": "ec2.amazonaws.com"}
        managed = body["Properties"]["ManagedPolicyArns"]
        assert len(managed) == 1 and "AmazonSSMManagedInstanceCore" in str(managed[0])
