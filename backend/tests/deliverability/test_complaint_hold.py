"""The owner's complaint rate: a warning over COMPLAINT_RATE_WARNING; over COMPLAINT_RATE_HOLD
their emails are held — no send, and a running campaign's emails wait — until the operator
lifts the hold. Thresholds here are large so a handful of emails cross them."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.config import get_settings
from rebook.db import get_sessionmaker
from rebook.deliverability import holds
from rebook.models import Campaign, CampaignStatus, CampaignType, SendHold, User
from tests.delivery.conftest import drain, make_shop, start_campaign, stats
from tests.factories import auth_headers, create_customer, create_owner, create_place
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import FakeTwilio
from tests.fixtures_channels import create_delivery

BASE = "/api/v1"
KEY = "key-hold-tests"


@pytest.fixture
def hold_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", KEY)
    monkeypatch.setenv("COMPLAINT_RATE_MIN_EMAILS", "5")
    monkeypatch.setenv("COMPLAINT_RATE_WARNING", "0.1")
    monkeypatch.setenv("COMPLAINT_RATE_HOLD", "0.3")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def complaint(address: str, message_id: str) -> dict[str, Any]:
    timestamp, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(KEY.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": "complained",
            "recipient": address,
            "message": {"headers": {"message-id": message_id}},
        },
    }


async def five_emails_sent(session: AsyncSession) -> tuple[User, int, list[tuple[str, str]]]:
    """An owner whose campaign emailed five customers: (address, Message-ID) of each."""
    owner = await create_owner(session)
    place = await create_place(session, owner, name="Salon Paris")
    campaign = Campaign(
        owner_id=owner.id,
        name="Sent",
        campaign_type=CampaignType.messaging,
        status=CampaignStatus.sent,
        config={"channels": ["email"]},
    )
    session.add(campaign)
    await session.flush()
    sent = []
    for _ in range(5):
        customer = await create_customer(session, booked_at=[place])
        delivery = await create_delivery(
            session, owner, customer, channel="email", status="sent", campaign=campaign
        )
        delivery.provider_message_id = f"<delivery-{delivery.id}.{uuid.uuid4().hex[:16]}@x.test>"
        delivery.sent_at = datetime.now(UTC)
        sent.append((str(customer.email), delivery.provider_message_id.strip("<>")))
    await session.commit()
    return owner, place.id, sent


async def deliverability(client: AsyncClient, owner: User) -> dict[str, Any]:
    response = await client.get(f"{BASE}/owner/deliverability", headers=auth_headers(owner))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.usefixtures("hold_settings")
class TestComplaintRate:
    async def test_warned_over_the_first_line_held_over_the_second_until_lifted(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        owner, place_id, sent = await five_emails_sent(session)
        assert (await deliverability(client, owner))["warning"] is False

        await client.post(f"{BASE}/webhooks/mailgun", json=complaint(*sent[0]))
        warned = await deliverability(client, owner)
        assert (warned["complaints"], warned["emails"], warned["complaint_rate"]) == (1, 5, 0.2)
        assert (warned["warning"], warned["held"]) == (True, False)
        assert "marked as spam" in warned["message"]

        await client.post(f"{BASE}/webhooks/mailgun", json=complaint(*sent[1]))
        held = await deliverability(client, owner)
        assert (held["held"], held["complaint_rate"]) == (True, 0.4)
        assert "on hold" in held["message"]

        # A new campaign to the three customers left cannot be sent while held.
        created = await client.post(
            f"{BASE}/owner/campaigns",
            json={
                "name": "Next",
                "campaign_type": "messaging",
                "place_ids": [place_id],
                "messaging_config": {
                    "channels": ["email"],
                    "email_subject": "Hello",
                    "email_body": "<p>Hello</p>",
                },
            },
            headers=auth_headers(owner),
        )
        campaign_id = created.json()["id"]
        added = await client.post(
            f"{BASE}/owner/campaigns/{campaign_id}/recipients",
            json={"select_all": {}},
            headers=auth_headers(owner),
        )
        assert added.json()["added"] == 3
        send = f"{BASE}/owner/campaigns/{campaign_id}/send?send_immediately=true"
        refused = await client.post(send, headers=auth_headers(owner))
        assert refused.status_code == 409
        assert "on hold" in refused.json()["detail"]

        assert await holds.lift(session, str(owner.email), "Owner cleaned their list") == 0
        assert (await deliverability(client, owner))["held"] is False
        accepted = await client.post(send, headers=auth_headers(owner))
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "sending"

    async def test_below_the_minimum_of_emails_a_complaint_holds_nothing(
        self, client: AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COMPLAINT_RATE_MIN_EMAILS", "6")
        get_settings.cache_clear()
        owner, _, sent = await five_emails_sent(session)
        for address, message_id in sent[:3]:
            await client.post(f"{BASE}/webhooks/mailgun", json=complaint(address, message_id))

        body = await deliverability(client, owner)
        assert (body["complaint_rate"], body["warning"], body["held"]) == (0.6, True, False)

    async def test_another_owners_rate_is_not_shown(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        _, _, sent = await five_emails_sent(session)
        for address, message_id in sent[:2]:
            await client.post(f"{BASE}/webhooks/mailgun", json=complaint(address, message_id))
        stranger = await create_owner(session)

        body = await deliverability(client, stranger)
        assert (body["emails"], body["complaints"], body["held"]) == (0, 0, False)


@pytest.mark.usefixtures("committed")
class TestHoldWhileSending:
    async def test_held_emails_wait_while_whatsapp_goes_and_leave_once_lifted(
        self, api: AsyncClient, smtp_backend: SmtpSink, twilio_backend: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=3)
        campaign = await start_campaign(api, shop)
        async with get_sessionmaker()() as session:
            session.add(
                SendHold(owner_id=shop.owner.id, complaint_rate=0.5, complaints=1, emails=2)
            )
            await session.commit()

        await drain()
        body = await stats(api, shop, campaign["id"])
        by_channel = {c["channel"]: c for c in body["channels"]}
        assert body["status"] == "sending"
        assert (by_channel["whatsapp"]["sent"], by_channel["email"]["pending"]) == (3, 3)
        assert smtp_backend.received == []

        async with get_sessionmaker()() as session, session.begin():
            assert await holds.lift(session, str(shop.owner.email), "reviewed") == 1
        await drain()
        body = await stats(api, shop, campaign["id"])
        assert (body["status"], body["sent"]) == ("sent", 6)
        assert len(smtp_backend.received) == 3
