"""Secrets the application reads by id: the JWT signing key and the provider API keys.

The database and broker credentials are created next to the resources that use them
(database.py, broker.py). All four are encrypted with the data key.
"""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy, SecretValue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from .config import EnvConfig

# Keys of the provider secret; the operator fills them in after the first deploy
# (`aws secretsmanager put-secret-value`), so no key ever appears in a template.
PROVIDER_KEY_NAMES = ("OPENAI_API_KEY", "GROQ_API_KEY")


class AppSecrets(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvConfig, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.jwt = sm.Secret(
            self,
            "JwtSigningKey",
            secret_name=f"consulta/{config.name}/jwt-signing-key",
            description="HS256 signing key for Consulta bearer tokens",
            encryption_key=key,
            generate_secret_string=sm.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        self.provider_keys = sm.Secret(
            self,
            "ProviderKeys",
            secret_name=f"consulta/{config.name}/provider-keys",
            description="JSON object of provider API keys: " + ", ".join(PROVIDER_KEY_NAMES),
            encryption_key=key,
            secret_string_value=SecretValue.unsafe_plain_text(
                json.dumps(dict.fromkeys(PROVIDER_KEY_NAMES, ""))
            ),
        )
        # Rotating the JWT key would sign out every user; keep the secrets with the data.
        for secret in (self.jwt, self.provider_keys):
            secret.apply_removal_policy(
                RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY
            )
