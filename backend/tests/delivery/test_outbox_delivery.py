from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text, update

from rebook.db import get_sessionmaker, session_scope
from rebook.delivery import queue
from rebook.models import (
    AuditEvent,
    Booking,
    CampaignRecipient,
    MarketingSuppression,
    OutboxMessage,
    User,
)
from tests.delivery.conftest import (
    BASE,
    Shop,
    deliveries,
    drain,
    make_shop,
    start_campaign,
    stats,
)
from tests.factories import create_owner, create_place

pytestmark = pytest.mark.usefixtures("committed")


async def outbox(api: AsyncClient, headers: dict[str, str]) -> list[dict[str, object]]:
    response = await api.get("/api/v1/owner/outbox", params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


class TestSendNow:
    async def test_every_recipient_gets_exactly_one_message_per_channel(
        self, api: AsyncClient
    ) -> None:
        shop = await make_shop(customers=45)
        campaign = await start_campaign(api, shop)

        await drain()

        messages = await outbox(api, shop.headers)
        assert len(messages) == 90
        per_channel = {(m["channel"], m["to_address"]) for m in messages}
        assert len(per_channel) == 90  # nobody twice on a channel
        email = next(m for m in messages if m["to_address"] == shop.customers[0].email)
        assert email["subject"] == "Hello Client0"
        assert "Come back to Salon Paris, Client0!" in str(email["body"])
        assert "https://rebook.example/unsubscribe/" in str(email["body"])
        whatsapp = next(m for m in messages if m["to_address"] == "+33612340000")
        assert whatsapp["body"] == "Hi Client0, see you at Salon Paris"

        body = await stats(api, shop, campaign["id"])
        assert (body["status"], body["sent"], body["pending"], body["failed"]) == ("sent", 90, 0, 0)
        assert all(
            d["status"] == "sent" and d["sent_at"]
            for d in await deliveries(api, shop, campaign["id"])
        )

    async def test_running_the_worker_again_sends_nothing_more(self, api: AsyncClient) -> None:
        shop = await make_shop(customers=3)
        await start_campaign(api, shop)
        await drain()
        await drain()
        assert len(await outbox(api, shop.headers)) == 6

    async def test_finishing_is_audited(self, api: AsyncClient) -> None:
        shop = await make_shop(customers=2)
        campaign = await start_campaign(api, shop)
        await drain()
        async with session_scope() as session:
            actions = (
                await session.scalars(
                    select(AuditEvent.action)
                    .where(AuditEvent.campaign_id == campaign["id"])
                    .order_by(AuditEvent.id)
                )
            ).all()
        assert actions == [
            "campaign.created",
            "campaign.recipients_added",
            "campaign.sent",
            "campaign.finished",
        ]


class TestSendTimeChecks:
    async def test_consent_suppression_and_scope_are_checked_again_before_sending(
        self, api: AsyncClient
    ) -> None:
        shop = await make_shop(customers=4)
        campaign = await start_campaign(
            api,
            shop,
            send_now=False,
            scheduled_send_time=(datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        )
        withdrew, stopped, moved, tampered = shop.customers
        async with get_sessionmaker()() as session:
            other_place = await create_place(session, await create_owner(session))
            await session.execute(
                update(User).where(User.id == withdrew.id).values(gdpr_marketing_consent=False)
            )
            session.add(
                MarketingSuppression(
                    owner_id=shop.owner.id,
                    user_id=stopped.id,
                    channel="whatsapp",
                    source="whatsapp_stop",
                )
            )
            # The customer's only booking now belongs to another owner's place.
            await session.execute(
                update(Booking).where(Booking.user_id == moved.id).values(place_id=other_place.id)
            )
            # A row pointed at someone who never booked with this owner.
            stranger = User(
                first_name="Stranger",
                last_name="X",
                email="s@example.com",
                gdpr_marketing_consent=True,
            )
            session.add(stranger)
            await session.flush()
            await session.execute(
                update(CampaignRecipient)
                .where(CampaignRecipient.user_id == tampered.id)
                .values(user_id=stranger.id)
            )
            await session.execute(
                text("UPDATE campaigns SET status = 'sending' WHERE id = :id"),
                {"id": campaign["id"]},
            )
            await queue.schedule_start(session, campaign["id"], None)
            await session.commit()

        await drain()

        outcome = {
            (d["name"].split()[0], d["channel"]): (d["status"], d["error_message"])
            for d in await deliveries(api, shop, campaign["id"])
        }
        assert outcome[("Client0", "email")] == (
            "skipped",
            "Not sent: the customer no longer consents to marketing messages.",
        )
        assert outcome[("Client1", "whatsapp")] == (
            "skipped",
            "Not sent: the customer unsubscribed from your WhatsApp.",
        )
        assert outcome[("Client1", "email")] == ("sent", None)
        assert outcome[("Client2", "email")] == (
            "skipped",
            "Not sent: this person is not a customer of the campaign's places.",
        )
        assert outcome[("Client3", "whatsapp")][0] == "skipped"
        messages = await outbox(api, shop.headers)
        assert sorted(m["to_address"] for m in messages) == [shop.customers[1].email]


class TestCancelAndRetry:
    async def test_cancel_before_the_worker_runs_sends_nothing(self, api: AsyncClient) -> None:
        shop = await make_shop(customers=5)
        campaign = await start_campaign(api, shop)
        cancelled = await api.post(f"{BASE}/{campaign['id']}/cancel", headers=shop.headers)
        assert cancelled.json()["status"] == "cancelled"
        await drain()
        assert await outbox(api, shop.headers) == []
        body = await stats(api, shop, campaign["id"])
        assert (body["cancelled"], body["sent"], body["status"]) == (10, 0, "cancelled")
        async with session_scope() as session:
            waiting = await session.scalar(
                text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
            )
        assert waiting == 0

    async def test_scheduled_campaign_is_not_sent_before_its_time(self, api: AsyncClient) -> None:
        shop = await make_shop(customers=2)
        later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        campaign = await start_campaign(api, shop, send_now=False, scheduled_send_time=later)
        await drain()
        assert await outbox(api, shop.headers) == []
        assert (await stats(api, shop, campaign["id"]))["status"] == "scheduled"


class TestOutboxIsolation:
    async def test_another_owner_sees_none_of_the_messages(self, api: AsyncClient) -> None:
        shop = await make_shop(customers=2)
        other = await make_shop(customers=1)
        await start_campaign(api, shop)
        await drain()
        assert await outbox(api, other.headers) == []
        async with session_scope() as session:
            assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 4


async def test_metrics_count_what_was_sent(api: AsyncClient) -> None:
    shop = await make_shop(customers=2)
    await start_campaign(api, shop)
    await drain()
    response = await api.get("/metrics/")
    sent = [
        line
        for line in response.text.splitlines()
        if line.startswith('rebook_deliveries_total{channel="whatsapp",outcome="sent"}')
    ]
    assert sent
    assert float(sent[0].split()[-1]) >= 2
    assert "rebook_send_latency_seconds_bucket" in response.text


class TestLargeSelections:
    """A selection of thousands is complete when the request answers: every recipient has
    a delivery per channel (a send started right away waits for nothing)."""

    CUSTOMERS = 6_000

    async def large_shop(self) -> Shop:
        shop = await make_shop(customers=1)
        async with session_scope() as session:  # written in SQL: the factories are per row
            await session.execute(
                text(
                    "WITH u AS (INSERT INTO users (email, first_name, last_name, phone, "
                    "phone_e164, role, gdpr_marketing_consent) SELECT 'c' || g || "
                    "'@example.com', 'Client', 'N' || g, CASE WHEN g % 3 = 0 THEN NULL "
                    "WHEN g % 3 = 1 THEN '06 00 00 ' || to_char(g % 100, 'FM00') || ' ' || "
                    "to_char(g / 100 % 100, 'FM00') ELSE '12-' || g END, CASE WHEN g % 3 = 1 "
                    "THEN '+33600' || to_char(g, 'FM000000') END, 'customer', true "
                    "FROM generate_series(1, :n) g RETURNING id) "
                    "INSERT INTO bookings (place_id, user_id, starts_at, status) "
                    "SELECT :place, id, now(), 'completed' FROM u"
                ),
                {"n": self.CUSTOMERS - 1, "place": shop.paris.id},
            )
        return shop

    async def test_every_delivery_is_there_when_the_selection_answers(
        self, api: AsyncClient
    ) -> None:
        shop = await self.large_shop()
        created = await api.post(
            BASE,
            json={
                "name": "Everyone",
                "campaign_type": "messaging",
                "place_ids": [shop.paris.id],
                "messaging_config": {
                    "channels": ["email", "whatsapp"],
                    "email_subject": "Hi {{ first_name }}",
                    "email_body": "<p>Hello</p>",
                    "whatsapp_message": "Hello {{ first_name }}",
                },
            },
            headers=shop.headers,
        )
        campaign_id = created.json()["id"]
        added = await api.post(
            f"{BASE}/{campaign_id}/recipients", json={"select_all": {}}, headers=shop.headers
        )
        assert added.json()["added"] == self.CUSTOMERS

        body = await stats(api, shop, campaign_id)
        assert (body["total_recipients"], body["total"]) == (self.CUSTOMERS, 2 * self.CUSTOMERS)
        whatsapp = next(c for c in body["channels"] if c["channel"] == "whatsapp")
        # A third have no phone, a third an unreadable one: skipped, with the reason.
        assert (whatsapp["pending"], whatsapp["skipped"]) == (2_001, 3_999)
        summary = await api.get(f"{BASE}/{campaign_id}/send-summary", headers=shop.headers)
        channels = {c["channel"]: c for c in summary.json()["channels"]}
        assert channels["email"]["deliverable"] == self.CUSTOMERS
        # Free text: only the customers who wrote in the last 24 hours can get it.
        whatsapp_split = channels["whatsapp"]["whatsapp"]
        assert (
            channels["whatsapp"]["deliverable"] + whatsapp_split["skipped_outside_window"]
        ) == 2_001
