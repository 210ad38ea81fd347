"""Settings, read from the environment (and `.env`). Every field is listed in `.env.example`."""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

import phonenumbers
from pydantic import Field, ValidationError, field_validator, model_validator
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
    # Where customers and Twilio reach Rebook; unset, where `rebook serve` listens (HOST:PORT).
    public_base_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    # Login throttle: this many wrong passwords within the window lock an account (or, with
    # the larger limit, a client address) until the oldest of them leaves the window.
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=50, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    # Password hashes computed at once (argon2 is CPU- and memory-heavy; each uses 4 lanes),
    # off the event loop.
    password_hash_threads: int = Field(default=2, ge=1, le=64)

    email_backend: Literal["outbox", "smtp"] = "outbox"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_connections: int = Field(default=4, ge=1, le=64)
    email_from: str = "Rebook <no-reply@rebook.test>"
    # The currency EMAIL_PRICE_PER_MESSAGE and WHATSAPP_PRICE_PER_MESSAGE are in (ISO 4217).
    price_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    email_rate_per_second: float = Field(default=14.0, gt=0)
    # The name Rebook gives itself in EHLO; empty: the system's fully qualified name.
    smtp_ehlo_name: str = ""
    # DKIM: every email is signed with this key as d=DKIM_DOMAIN (or, for an owner's own From
    # address, d= its domain), s=DKIM_SELECTOR. Unset: emails go unsigned (development).
    dkim_domain: str = ""
    dkim_selector: str = ""
    dkim_private_key_file: Path | None = None
    # Domains an owner's own From address may be on: the operator published the DKIM key
    # (a CNAME to DKIM_DOMAIN's record) and SPF for each. DKIM_DOMAIN is always one.
    email_sender_domains: str = ""
    # VERP: each email's envelope sender is b-<delivery>-<signature>@BOUNCE_DOMAIN, whose MX
    # is `rebook bounces`. Unset: EMAIL_FROM's address, and bounces come by webhook only.
    bounce_domain: str = ""
    # Where `rebook bounces` (the SMTP receiver of bounces and complaints) listens.
    bounces_host: str = "127.0.0.1"
    bounces_port: int = 2525
    # A hard bounce suppresses at once; this many soft bounces within the window too.
    soft_bounce_limit: int = Field(default=3, ge=1)
    bounce_window_days: int = Field(default=30, ge=1)
    # An owner's email complaint rate over BOUNCE_WINDOW_DAYS: a warning above the first,
    # their emails held above the second (Gmail's line) until the operator lifts it. Below
    # COMPLAINT_RATE_MIN_EMAILS emails in the window a rate says too little to hold on.
    complaint_rate_warning: float = Field(default=0.001, ge=0)
    complaint_rate_hold: float = Field(default=0.003, ge=0)
    complaint_rate_min_emails: int = Field(default=100, ge=1)
    # Provider webhooks: Amazon SES through SNS (topics allowed; empty: any), Mailgun's key.
    sns_topic_arns: str = ""
    # Tests only: SNS signing certificates are also fetched from under this URL. Never in
    # production; empty: only https://sns.<region>.amazonaws.com/ is trusted.
    sns_test_cert_url_prefix: str = ""
    mailgun_webhook_signing_key: str = ""
    # Test sends an owner may make per hour (to their own address or number).
    test_sends_per_hour: int = Field(default=10, ge=1)

    whatsapp_backend: Literal["outbox", "twilio"] = "outbox"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_number: str | None = None
    twilio_api_base_url: str | None = None
    twilio_content_base_url: str | None = None
    # How long the account's WhatsApp template list is used before it is read again.
    whatsapp_templates_cache_seconds: float = Field(default=600.0, ge=0)
    whatsapp_rate_per_second: float = Field(default=10.0, gt=0)
    twilio_timeout_seconds: float = Field(default=15.0, gt=0)
    # After a send Twilio left unanswered, it is asked again for the message this long
    # later, before the message is sent again: it may answer (and create it) late.
    twilio_reconcile_seconds: float = Field(default=60.0, ge=0)

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

    @field_validator("twilio_whatsapp_number")
    @classmethod
    def _whatsapp_sender_in_e164(cls, value: str | None) -> str | None:
        """Accept `+14155238886` and Twilio's `whatsapp:+14155238886`; keep the E.164 form
        (the sender adds the `whatsapp:` prefix)."""
        if not value or not value.strip():
            return None
        number = value.strip().removeprefix("whatsapp:").strip()
        try:
            parsed = phonenumbers.parse(number, None) if number.startswith("+") else None
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_valid_number(parsed):
            raise ValueError(
                f"TWILIO_WHATSAPP_NUMBER {value!r} is not a valid phone number in international "
                "(E.164) form, such as +14155238886 or whatsapp:+14155238886"
            )
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    @model_validator(mode="after")
    def _public_base_url_defaults_to_where_rebook_listens(self) -> Settings:
        if not self.public_base_url.strip():
            self.public_base_url = listening_url(self.host, self.port)
        self.public_base_url = self.public_base_url.strip().rstrip("/")
        return self

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_development(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError("SECRET_KEY must be set to a private value in production")
        return self

    @model_validator(mode="after")
    def _dkim_complete(self) -> Settings:
        dkim = (self.dkim_domain, self.dkim_selector, self.dkim_private_key_file)
        if any(dkim) and not all(dkim):
            raise ValueError(
                "DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE go together: set all "
                "three to sign emails (`rebook dkim-keygen DOMAIN SELECTOR` makes a key)"
            )
        if self.environment == "production" and self.sns_test_cert_url_prefix:
            raise ValueError("SNS_TEST_CERT_URL_PREFIX is for tests; unset it in production")
        return self

    def sender_domains(self) -> set[str]:
        """The domains an owner's From address may be on (lower case)."""
        domains = {d.strip().lower() for d in self.email_sender_domains.split(",") if d.strip()}
        if self.dkim_domain:
            domains.add(self.dkim_domain.lower())
        return domains

    @model_validator(mode="after")
    def _https_in_production(self) -> Settings:
        # One-click unsubscribe (RFC 8058) needs an https List-Unsubscribe link; Twilio's
        # webhooks should not travel in clear either.
        if self.environment == "production" and not self.public_base_url.startswith("https://"):
            raise ValueError(
                f"PUBLIC_BASE_URL must be an https:// address in production (it is "
                f"{self.public_base_url!r}): unsubscribe links and Twilio's webhooks use it, "
                "and one-click unsubscribe (RFC 8058) needs https"
            )
        return self


def listening_url(host: str, port: int) -> str:
    """The http URL of HOST:PORT; a wildcard address (listen everywhere) reads as loopback."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def startup_errors(exc: ValidationError) -> list[str]:
    """What is wrong with the settings, one line per problem, in the environment's names."""
    lines = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in error["loc"]).upper()
        lines.append(message if not field or field in message else f"{field}: {message}")
    return lines


def listen_on(host: str, port: int) -> Settings:
    """The settings of a `rebook serve` told to listen elsewhere than HOST/PORT say: the
    process's environment is updated too, so every later `get_settings()` (the app, its
    worker) sees the same address, and PUBLIC_BASE_URL's default follows it."""
    os.environ["HOST"] = host
    os.environ["PORT"] = str(port)
    get_settings.cache_clear()
    return get_settings()


@lru_cache
def get_settings() -> Settings:
    return Settings()
