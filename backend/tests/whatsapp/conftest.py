"""The WhatsApp tests' settings: the outbox's demo templates by default, or the fake
Twilio's account (Messages and Content API) with `twilio_account`; a clock they move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from rebook.config import get_settings
from rebook.request_context import utc_now
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER, FakeTwilio

TEMPLATES = "/api/v1/owner/whatsapp-templates"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    clock = Clock()
    app.dependency_overrides[utc_now] = lambda: clock.now
    return clock


@pytest.fixture
def twilio_account(
    monkeypatch: pytest.MonkeyPatch, fake_twilio: FakeTwilio
) -> Iterator[FakeTwilio]:
    for name, value in {
        "WHATSAPP_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_NUMBER": WHATSAPP_NUMBER,
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "TWILIO_CONTENT_BASE_URL": fake_twilio.base_url,
        "PUBLIC_BASE_URL": "https://rebook.example",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield fake_twilio
    get_settings.cache_clear()


# The messaging tests' small world of customers and campaigns.
from tests.messaging.conftest import world  # noqa: E402, F401
