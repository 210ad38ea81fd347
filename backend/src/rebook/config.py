"""Settings, read from the environment (and `.env`). Every field is listed in `.env.example`."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-secret-change-me-in-production-0000"
REPO_ROOT = Path(__file__).resolve().parents[3]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = None
    data_dir: Path = REPO_ROOT / "var"
    secret_key: str = DEV_SECRET_KEY
    access_token_minutes: int = 12 * 60
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    email_backend: Literal["outbox", "smtp"] = "outbox"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_connections: int = Field(default=4, ge=1, le=64)
    email_from: str = "Rebook <no-reply@rebook.test>"
    email_rate_per_second: float = Field(default=14.0, gt=0)

    whatsapp_backend: Literal["outbox", "twilio"] = "outbox"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_number: str | None = None
    twilio_api_base_url: str | None = None
    whatsapp_rate_per_second: float = Field(default=10.0, gt=0)
    twilio_timeout_seconds: float = Field(default=15.0, gt=0)
    # After a send Twilio left unanswered, it is asked again for the message this long
    # later, before the message is sent again: it may answer (and create it) late.
    twilio_reconcile_seconds: float = Field(default=60.0, ge=0)

    # Adding more recipients than this at once writes their deliveries in a background job.
    recipients_inline_deliveries_limit: int = Field(default=5000, ge=0)

    # Delivery engine
    delivery_batch_size: int = Field(default=100, ge=1, le=5000)
    # Batch jobs of one campaign that may run at once (across all workers).
    delivery_parallel_batches: int = Field(default=4, ge=1, le=64)
    delivery_max_attempts: int = Field(default=5, ge=1, le=20)
    delivery_retry_base_seconds: float = Field(default=30.0, gt=0)
    # A delivery left `sending` this long belongs to a dead worker and is resolved. A live
    # worker renews the deliveries it holds four times as often (`delivery/lease.py`), however
    # long they wait for their turn, their rate slot or a slow relay.
    delivery_stale_after_seconds: float = Field(default=300.0, gt=0)
    worker_concurrency: int = Field(default=4, ge=1, le=64)

    whatsapp_price_per_message: Decimal = Decimal("0.005")
    email_price_per_message: Decimal = Decimal("0")

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_development(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError("SECRET_KEY must be set to a private value in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
