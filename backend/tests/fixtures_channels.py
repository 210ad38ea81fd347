"""Fixtures for the channels, webhooks, unsubscribe and outbox tests: a real SMTP server, the
fake Twilio, the Prism mock of Twilio's spec, settings that point at them, and deliveries."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from rebook.config import REPO_ROOT, Settings, get_settings
from rebook.models import (
    Campaign,
    CampaignDelivery,
    CampaignRecipient,
    CampaignStatus,
    CampaignType,
    User,
    UserRole,
)
from tests.fakes.net import free_port
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER, FakeTwilio

PUBLIC_BASE_URL = "https://rebook.example"
PRISM_BIN = REPO_ROOT / "tools" / "prism" / "node_modules" / ".bin" / "prism"
TWILIO_SPEC = REPO_ROOT.parent / "shared" / "spec" / "twilio_api_v2010.json"
CONTENT_SPEC = REPO_ROOT.parent / "shared" / "spec" / "twilio_content_v1.json"

_seq = itertools.count(1)


def channel_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "public_base_url": PUBLIC_BASE_URL,
        "email_from": "Rebook <no-reply@rebook.test>",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_whatsapp_number": WHATSAPP_NUMBER,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def _fake_twilio_server() -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    yield server
    server.stop()


@pytest.fixture
def fake_twilio(_fake_twilio_server: FakeTwilio) -> Iterator[FakeTwilio]:
    _fake_twilio_server.reset()
    yield _fake_twilio_server
    _fake_twilio_server.reset()


@pytest.fixture
def webhook_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The app's settings for webhook tests: the fake account's auth token, a public URL."""
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _prism(spec: Path, probe: str) -> Iterator[str]:
    """Prism mocking one of Twilio's OpenAPI specs on a port of its own: it answers 422 to
    any request the spec does not allow. Installed by `npm ci --prefix tools/prism`."""
    if not PRISM_BIN.exists() or shutil.which("node") is None:
        pytest.fail(f"Prism is not installed: run `npm ci --prefix {PRISM_BIN.parents[2]}`")
    port = free_port()
    process = subprocess.Popen(
        [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail("Prism exited at start")
            try:
                httpx.get(f"{url}{probe}", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("Prism did not start within 60 s")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def prism_url() -> Iterator[str]:
    """Prism on Twilio's REST API 2010-04-01 (Messages)."""
    yield from _prism(TWILIO_SPEC, "/2010-04-01/Accounts.json")


@pytest.fixture(scope="session")
def prism_content_url() -> Iterator[str]:
    """Prism on Twilio's Content API v1 (content templates and their approvals)."""
    yield from _prism(CONTENT_SPEC, "/v1/ContentAndApprovals")


@pytest.fixture(scope="session")
def prism_content_with_templates_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prism on the Content API spec with its list example holding templates answered by
    default (the spec's first example is an empty account): the same contract, so that the
    app, which sends no `Prefer` header, lists templates."""
    spec = json.loads(CONTENT_SPEC.read_text())
    examples = spec["paths"]["/v1/ContentAndApprovals"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["examples"]
    reordered = {"readResults": examples["readResults"], **examples}
    spec["paths"]["/v1/ContentAndApprovals"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["examples"] = reordered
    path = tmp_path_factory.mktemp("prism") / "twilio_content_v1.json"
    path.write_text(json.dumps(spec))
    yield from _prism(path, "/v1/ContentAndApprovals")


@dataclass
class DeliveryRefs:
    owner_id: int
    customer_id: int
    campaign_id: int
    recipient_id: int
    delivery_id: int


async def create_delivery(
    session: AsyncSession,
    owner: User,
    customer: User,
    *,
    channel: str = "whatsapp",
    status: str = "sent",
    provider_message_id: str | None = None,
    phone_e164: str | None = "+33612345678",
    campaign: Campaign | None = None,
) -> CampaignDelivery:
    """A messaging campaign of `owner` with `customer` as recipient and one delivery."""
    if campaign is None:
        campaign = Campaign(
            owner_id=owner.id,
            name=f"Campaign {next(_seq)}",
            campaign_type=CampaignType.messaging,
            status=CampaignStatus.sending,
            config={},
        )
        session.add(campaign)
        await session.flush()
    recipient = CampaignRecipient(
        campaign_id=campaign.id,
        user_id=customer.id,
        customer_first_name=customer.first_name,
        customer_email=customer.email,
        customer_phone_e164=phone_e164,
    )
    session.add(recipient)
    await session.flush()
    delivery = CampaignDelivery(
        campaign_id=campaign.id,
        recipient_id=recipient.id,
        channel=channel,
        status=status,
        provider_message_id=provider_message_id,
    )
    session.add(delivery)
    await session.commit()  # a savepoint inside the test's transaction (see conftest)
    return delivery


@pytest.fixture
async def committed_delivery(engine: AsyncEngine) -> AsyncIterator[DeliveryRefs]:
    """A delivery really committed, for code that opens its own transaction
    (`session_scope()`); deleted afterwards with everything that hangs off it."""
    n = next(_seq)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        owner = User(
            email=f"committed-owner-{n}-{os.getpid()}@example.com",
            role=UserRole.business_owner,
        )
        customer = User(
            email=f"committed-customer-{n}-{os.getpid()}@example.com",
            first_name="Camille",
            role=UserRole.customer,
            gdpr_marketing_consent=True,
        )
        session.add_all([owner, customer])
        await session.flush()
        campaign = Campaign(
            owner_id=owner.id,
            name="Committed",
            campaign_type=CampaignType.messaging,
            status=CampaignStatus.sending,
            config={},
        )
        session.add(campaign)
        await session.flush()
        recipient = CampaignRecipient(
            campaign_id=campaign.id, user_id=customer.id, customer_email=customer.email
        )
        session.add(recipient)
        await session.flush()
        delivery = CampaignDelivery(
            campaign_id=campaign.id, recipient_id=recipient.id, channel="email", status="sending"
        )
        session.add(delivery)
        await session.commit()
        refs = DeliveryRefs(owner.id, customer.id, campaign.id, recipient.id, delivery.id)
    yield refs
    async with AsyncSession(engine) as session:
        # A sending campaign is kept by the database; a test's may be erased on purpose.
        await session.execute(text("SET LOCAL rebook.erase_history = on"))
        await session.execute(delete(User).where(User.id.in_([refs.owner_id, refs.customer_id])))
        await session.commit()
