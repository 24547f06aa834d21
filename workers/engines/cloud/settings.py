"""Settings of the cloud engines, read from ``CONSULTA_*`` environment variables.

They live apart from ``core/settings.py`` because only workers that run a cloud engine need
them; the server never reads them. Keys are not settings: they come from the environment
(``OPENAI_API_KEY``, ``GROQ_API_KEY``, the AWS chain) or from Secrets Manager, see
``secrets.py``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SectionSpec(BaseModel):
    """One section of a custom note template."""

    key: str = Field(description="Stable key, lower snake case (e.g. 'plan').")
    title: str = Field(description="Heading shown in the note.")
    instruction: str = Field("", description="What the section holds, told to the model.")


class ProviderSettings(BaseSettings):
    """Endpoints, models, limits and retry budgets of every cloud engine."""

    model_config = SettingsConfigDict(env_prefix="CONSULTA_", frozen=True, extra="ignore")

    # --- OpenAI transcription -------------------------------------------------------------
    openai_base_url: str = Field(
        "", description="OpenAI API base URL; empty for https://api.openai.com/v1."
    )
    openai_transcribe_model: str = Field(
        "gpt-4o-transcribe",
        description="Model of the 'openai' transcriber (gpt-4o-transcribe or "
        "gpt-4o-mini-transcribe).",
    )
    openai_diarize_model: str = Field(
        "gpt-4o-transcribe-diarize", description="Model of the 'openai-diarize' transcriber."
    )
    openai_requests_per_minute: float = Field(
        500, description="Requests per minute this process sends to OpenAI."
    )
    openai_tokens_per_minute: float = Field(
        0, description="Tokens per minute this process sends to OpenAI; 0 for no limit."
    )

    # --- Groq -----------------------------------------------------------------------------
    groq_base_url: str = Field("", description="Groq API base URL; empty for the SDK default.")
    groq_transcribe_model: str = Field(
        "whisper-large-v3-turbo",
        description="Model of the 'groq' transcriber (whisper-large-v3 or whisper-large-v3-turbo).",
    )
    groq_chat_model: str = Field(
        "deepseek-r1-distill-llama-70b", description="Model of the 'groq' note engine."
    )
    groq_requests_per_minute: float = Field(
        30, description="Requests per minute this process sends to Groq."
    )
    groq_tokens_per_minute: float = Field(
        6000, description="Tokens per minute this process sends to Groq; 0 for no limit."
    )

    # --- Bedrock --------------------------------------------------------------------------
    bedrock_model_id: str = Field(
        "us.deepseek.r1-v1:0",
        description="Bedrock model or inference profile id of the 'bedrock' note engine.",
    )
    bedrock_region: str = Field("us-east-1", description="AWS region of Bedrock.")
    bedrock_endpoint_url: str = Field(
        "", description="Bedrock runtime endpoint URL; empty for the region's default."
    )
    bedrock_requests_per_minute: float = Field(
        50, description="Requests per minute this process sends to Bedrock."
    )
    bedrock_tokens_per_minute: float = Field(
        0, description="Tokens per minute this process sends to Bedrock; 0 for no limit."
    )

    # --- Any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server) -------------
    openai_compatible_base_url: str = Field(
        "http://127.0.0.1:8000/v1",
        description="Base URL of the OpenAI-compatible server, ending in /v1.",
    )
    openai_compatible_model: str = Field(
        "", description="Model name the OpenAI-compatible server knows."
    )
    openai_compatible_key_env: str = Field(
        "OPENAI_COMPATIBLE_API_KEY",
        description="Environment variable (or Secrets Manager field) holding its key; servers "
        "without auth need none.",
    )
    openai_compatible_requests_per_minute: float = Field(
        600, description="Requests per minute to the OpenAI-compatible server."
    )
    openai_compatible_tokens_per_minute: float = Field(
        0, description="Tokens per minute to the OpenAI-compatible server; 0 for no limit."
    )

    # --- Calls, retries and timeouts ------------------------------------------------------
    provider_timeout_seconds: float = Field(
        120.0, description="Longest wait for a provider's next bytes (read timeout) per call."
    )
    provider_connect_timeout_seconds: float = Field(
        10.0, description="Longest wait to connect to a provider."
    )
    provider_call_deadline_seconds: float = Field(
        900.0,
        description="Longest one provider call may take from start to last byte, streams "
        "included; past it the call counts as a timeout.",
    )
    provider_max_attempts: int = Field(
        4, ge=1, description="Attempts per provider call (first try included)."
    )
    provider_retry_budget_seconds: float = Field(
        90.0,
        description="Time one call may spend waiting between retries; past it the job is "
        "retried later by the worker.",
    )
    provider_backoff_initial_seconds: float = Field(
        1.0, description="First backoff delay; doubles each retry, with full jitter."
    )
    provider_backoff_max_seconds: float = Field(30.0, description="Longest single backoff.")

    # --- Keys -----------------------------------------------------------------------------
    provider_keys_secret_id: str = Field(
        "",
        description="Secrets Manager secret (name or ARN) holding a JSON object of keys "
        '({"OPENAI_API_KEY": ..., "GROQ_API_KEY": ...}); empty: keys come from the '
        "environment.",
    )
    secrets_region: str = Field("us-east-1", description="AWS region of Secrets Manager.")
    secrets_endpoint_url: str = Field(
        "", description="Secrets Manager endpoint URL; empty for the region's default."
    )

    # --- Long audio -----------------------------------------------------------------------
    transcribe_max_chunk_bytes: int = Field(
        24 << 20, description="Largest upload per request (the providers take 25 MB)."
    )
    transcribe_max_chunk_seconds: float = Field(
        1200.0, description="Longest audio per request; longer audio is split at silences."
    )
    transcribe_concurrency: int = Field(
        3, ge=1, description="Chunks of one recording transcribed at once."
    )
    transcribe_min_silence_seconds: float = Field(
        0.3, description="Shortest quiet stretch the splitter treats as a pause."
    )
    channel_roles: tuple[str, ...] = Field(
        ("clinician", "patient"),
        description="Speaker of each channel of a multi-channel recording, in channel order.",
    )

    # --- Notes ----------------------------------------------------------------------------
    note_max_tokens: int = Field(4096, description="Most tokens a note engine may write.")
    note_temperature: float = Field(0.2, description="Sampling temperature of note engines.")
    custom_templates: dict[str, list[SectionSpec]] = Field(
        default_factory=dict,
        description="Templates by name (JSON). A built-in name (soap, dap ...) replaces that "
        "template's sections; another name adds a template.",
    )
