"""One Settings object, read from the environment and `.env`."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ml.recommendations import Thresholds
from workers.config import WorkerConfig

DEV_API_KEY = "devkey"
# Only ever used in development; production refuses to start without a real secret.
DEV_JWT_SECRET = "learntwin-development-jwt-secret-not-for-production"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))
    api_key: SecretStr | None = Field(None, validation_alias=_env("API_KEY"))
    jwt_secret: SecretStr | None = Field(None, validation_alias=_env("JWT_SECRET"))
    env: Literal["development", "production"] = Field(
        "development", validation_alias=_env("LEARNTWIN_ENV")
    )
    data_dir: Path = Field(Path(".learntwin"), validation_alias=_env("LEARNTWIN_DATA_DIR"))
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("ALLOWED_ORIGINS")
    )
    public_url: str | None = Field(None, validation_alias=_env("LEARNTWIN_PUBLIC_URL"))
    # Host names (host or host:port) this server is reached by; links it makes (export
    # URLs) use the first one when LEARNTWIN_PUBLIC_URL is unset, never a request's Host.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("LEARNTWIN_ALLOWED_HOSTS")
    )

    # Limits
    max_page_size: int = Field(500, ge=1, validation_alias=_env("LEARNTWIN_MAX_PAGE_SIZE"))
    max_ingest_batch: int = Field(10_000, ge=1, validation_alias=_env("LEARNTWIN_MAX_INGEST_BATCH"))
    max_predict_batch: int = Field(100, ge=1, validation_alias=_env("LEARNTWIN_MAX_PREDICT_BATCH"))
    max_query_depth: int = Field(12, ge=1, validation_alias=_env("LEARNTWIN_MAX_QUERY_DEPTH"))
    max_query_tokens: int = Field(
        2_000, ge=100, validation_alias=_env("LEARNTWIN_MAX_QUERY_TOKENS")
    )
    max_aliases: int = Field(30, ge=1, validation_alias=_env("LEARNTWIN_MAX_ALIASES"))
    max_subscriptions_per_connection: int = Field(
        20, ge=1, validation_alias=_env("LEARNTWIN_MAX_SUBSCRIPTIONS")
    )
    jwt_ttl_minutes: int = Field(720, ge=1, validation_alias=_env("LEARNTWIN_JWT_TTL_MINUTES"))
    export_token_ttl_seconds: int = Field(
        900, ge=10, validation_alias=_env("LEARNTWIN_EXPORT_TOKEN_TTL")
    )
    # JSON, e.g. LEARNTWIN_RECOMMEND='{"recap_stuck": 0.4}'; unnamed thresholds keep defaults.
    recommend: Thresholds = Field(
        default_factory=Thresholds, validation_alias=_env("LEARNTWIN_RECOMMEND")
    )
    db_pool_size: int = Field(10, ge=1, validation_alias=_env("LEARNTWIN_DB_POOL_SIZE"))
    # Plain scalar fields read and coerced without graphql-core's per-field machinery
    # (see execution.py); off, every field takes graphql-core's own path.
    plain_field_shortcut: bool = Field(
        True, validation_alias=_env("LEARNTWIN_PLAIN_FIELD_SHORTCUT")
    )
    # POSTs of a document validated before answered without Strawberry's per-request
    # machinery (see fast_lane.py); off, every request takes Strawberry's path.
    http_fast_lane: bool = Field(True, validation_alias=_env("LEARNTWIN_HTTP_FAST_LANE"))
    # Requests (other than health checks) a process works on at once; the rest wait in
    # arrival order, so an overload lengthens the queue instead of every request.
    max_concurrent_requests: int = Field(
        32, ge=1, validation_alias=_env("LEARNTWIN_MAX_CONCURRENT_REQUESTS")
    )
    # What one request may ask for: bytes read (before parsing), one string's length,
    # and the nodes a query may produce (`first` multiplied down the selection).
    max_body_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, validation_alias=_env("LEARNTWIN_MAX_BODY_BYTES")
    )
    max_string_length: int = Field(
        10_000, ge=100, validation_alias=_env("LEARNTWIN_MAX_STRING_LENGTH")
    )
    max_query_cost: int = Field(50_000, ge=100, validation_alias=_env("LEARNTWIN_MAX_QUERY_COST"))
    # Open WebSockets per process: per client address, and per set of credentials.
    max_websockets_per_address: int = Field(
        100, ge=1, validation_alias=_env("LEARNTWIN_MAX_WEBSOCKETS_PER_ADDRESS")
    )
    max_websockets_per_credential: int = Field(
        20, ge=1, validation_alias=_env("LEARNTWIN_MAX_WEBSOCKETS_PER_CREDENTIAL")
    )
    # Attempt limits, shared by every process through Redis (in process while it is down).
    login_failures_per_email: int = Field(
        10, ge=1, validation_alias=_env("LEARNTWIN_LOGIN_FAILURES_PER_EMAIL")
    )
    login_failures_per_address: int = Field(
        20, ge=1, validation_alias=_env("LEARNTWIN_LOGIN_FAILURES_PER_ADDRESS")
    )
    registrations_per_address: int = Field(
        10, ge=1, validation_alias=_env("LEARNTWIN_REGISTRATIONS_PER_ADDRESS")
    )
    api_key_failures_per_address: int = Field(
        20, ge=1, validation_alias=_env("LEARNTWIN_API_KEY_FAILURES_PER_ADDRESS")
    )

    # LLM
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    llm_model: str = Field("gpt-4o-mini", validation_alias=_env("LEARNTWIN_LLM_MODEL"))
    llm_timeout: float = Field(30.0, gt=0, validation_alias=_env("LEARNTWIN_LLM_TIMEOUT"))

    # The tutor
    tutor_messages_per_minute: int = Field(
        30, ge=1, validation_alias=_env("LEARNTWIN_TUTOR_MESSAGES_PER_MINUTE")
    )
    # Comma-separated terms that stop a learner's message before any model call.
    tutor_blocked_terms: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("LEARNTWIN_TUTOR_BLOCKED_TERMS")
    )

    prediction_cache_ttl: int = Field(
        3600, ge=1, validation_alias=_env("LEARNTWIN_PREDICTION_CACHE_TTL")
    )

    # Background work
    job_timeout: float = Field(180.0, ge=5, validation_alias=_env("LEARNTWIN_JOB_TIMEOUT"))

    @field_validator("allowed_origins", "allowed_hosts", "tutor_blocked_terms", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("recommend", mode="before")
    @classmethod
    def _thresholds_json(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValueError(f"must be a JSON object ({exc})") from None

    @field_validator("recommend")
    @classmethod
    def _thresholds_in_range(cls, value: Thresholds) -> Thresholds:
        if wrong := value.out_of_range():
            raise ValueError(f"out of range: {', '.join(wrong)}")
        return value

    @field_validator("database_url", "redis_url", "openai_base_url", "public_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.env != "production":
            return self
        if self.api_key is not None and self.api_key.get_secret_value() == DEV_API_KEY:
            raise ValueError("API_KEY must not be the development key 'devkey' in production")
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if len(secret) < 32:
            raise ValueError("JWT_SECRET must be set to at least 32 characters in production")
        return self

    @property
    def production(self) -> bool:
        return self.env == "production"

    @cached_property
    def admin_api_key(self) -> str | None:
        """The admin key from the environment; `devkey` in development when unset."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        return None if self.production else DEV_API_KEY

    @cached_property
    def jwt_key(self) -> str:
        return self.jwt_secret.get_secret_value() if self.jwt_secret else DEV_JWT_SECRET


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(
        job_timeout=settings.job_timeout,
        llm_api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
        llm_base_url=settings.openai_base_url,
        llm_model=settings.llm_model,
        llm_timeout=settings.llm_timeout,
    )


class SettingsError(Exception):
    """Raised with one readable line when the configuration is invalid."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
        message = first.get("msg", "invalid").removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {where or 'configuration'}: {message}") from None
