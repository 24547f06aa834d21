"""What every cloud engine is built with: settings, where keys come from, the retry policy."""

from __future__ import annotations

from dataclasses import dataclass

from workers.engines.cloud.retry import RetryPolicy
from workers.engines.cloud.secrets import KeySource
from workers.engines.cloud.settings import ProviderSettings


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """Shared by the engines of one process, so they share one secret lookup."""

    settings: ProviderSettings
    keys: KeySource
    policy: RetryPolicy

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> ProviderContext:
        return cls(settings, KeySource(settings), RetryPolicy.from_settings(settings))
