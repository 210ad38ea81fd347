from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from rebook.channels.backends import email_sender, whatsapp_sender
from rebook.channels.base import OutgoingEmail, OutgoingWhatsApp, SendResult
from rebook.channels.outbox import OutboxEmailSender, OutboxWhatsAppSender
from rebook.models import OutboxMessage
from tests.factories import auth_headers, create_customer, create_owner
from tests.fixtures_channels import DeliveryRefs, channel_settings, create_delivery

URL = "/api/v1/owner/outbox"


class TestOutboxSenders:
    """The senders commit in their own transaction: they run on really committed rows."""

    @pytest.fixture
    async def committed_session(self, engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(engine) as session:
            yield session

    def email(self, refs: DeliveryRefs) -> OutgoingEmail:
        return OutgoingEmail(
            delivery_id=refs.delivery_id,
            owner_id=refs.owner_id,
            to="camille@example.com",
            subject="We miss you",
            html="<p>Hello</p>",
            text="Hello",
            unsubscribe_url="https://rebook.example/unsubscribe/t.s",
        )

    async def test_default_backends_are_the_outbox(self) -> None:
        settings = channel_settings()
        assert isinstance(email_sender(settings), OutboxEmailSender)
        assert isinstance(whatsapp_sender(settings), OutboxWhatsAppSender)

    async def test_email_is_kept_once_per_delivery(
        self, committed_delivery: DeliveryRefs, committed_session: AsyncSession
    ) -> None:
        sender = OutboxEmailSender()

        first = await sender.send(self.email(committed_delivery))
        again = await sender.send(self.email(committed_delivery))

        rows = (
            await committed_session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.delivery_id == committed_delivery.delivery_id
                )
            )
        ).all()
        assert len(rows) == 1
        [row] = rows
        assert first == again == SendResult(f"outbox-{row.id}", "delivered")
        assert (row.channel, row.to_address, row.subject) == (
            "email",
            "camille@example.com",
            "We miss you",
        )
        assert row.owner_id == committed_delivery.owner_id
        assert "https://rebook.example/unsubscribe/t.s" in row.body

    async def test_email_is_kept_as_it_arrives_html_part_and_sender(
        self, committed_delivery: DeliveryRefs, committed_session: AsyncSession
    ) -> None:
        sender = OutboxEmailSender("Rebook <no-reply@rebook.test>")
        email = self.email(committed_delivery)
        await sender.send(OutgoingEmail(**{**email.__dict__, "from_name": "Studio Lumière"}))

        row = await committed_session.scalar(
            select(OutboxMessage).where(OutboxMessage.delivery_id == committed_delivery.delivery_id)
        )
        assert row is not None
        assert row.html_body is not None
        assert row.html_body.startswith("<p>Hello</p>")
        assert 'href="https://rebook.example/unsubscribe/t.s">Unsubscribe</a>' in row.html_body
        assert row.sender == "Studio Lumière <no-reply@rebook.test>"

    async def test_whatsapp_template_is_kept_and_found_again(
        self, committed_delivery: DeliveryRefs
    ) -> None:
        sender = OutboxWhatsAppSender()
        msg = OutgoingWhatsApp(
            delivery_id=committed_delivery.delivery_id,
            owner_id=committed_delivery.owner_id,
            to_e164="+33612345678",
            body=None,
            content_sid="HX" + "a" * 32,
            content_variables={"1": "Camille"},
        )
        from datetime import UTC, datetime

        assert await sender.find_sent(msg, datetime.now(UTC)) is None
        sent = await sender.send(msg)

        assert await sender.find_sent(msg, datetime.now(UTC)) == sent


class TestOutboxListing:
    async def test_owner_sees_own_messages_newest_first_with_their_campaign(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        owner, rival = await create_owner(session), await create_owner(session)
        customer = await create_customer(session)
        delivery = await create_delivery(session, owner, customer, channel="email")
        session.add_all(
            [
                OutboxMessage(
                    owner_id=owner.id,
                    delivery_id=delivery.id,
                    channel="email",
                    to_address="camille@example.com",
                    subject="Hello",
                    body="Hello Camille",
                ),
                OutboxMessage(
                    owner_id=owner.id,
                    channel="whatsapp",
                    to_address="+33612345678",
                    body="Hi on WhatsApp",
                ),
                OutboxMessage(
                    owner_id=rival.id,
                    channel="email",
                    to_address="secret@example.com",
                    subject="Rival",
                    body="Not yours",
                ),
            ]
        )
        await session.commit()

        response = await client.get(URL, headers=auth_headers(owner))

        assert response.status_code == 200
        page = response.json()
        assert page["pagination"]["total_count"] == 2
        assert [m["body"] for m in page["items"]] == ["Hi on WhatsApp", "Hello Camille"]
        email = page["items"][1]
        assert email["to_address"] == "camille@example.com"
        assert email["delivery_id"] == delivery.id
        assert email["campaign_id"] == delivery.campaign_id
        assert page["items"][0]["campaign_id"] is None
        assert "Not yours" not in response.text

        only_email = await client.get(
            URL, params={"channel": "email", "limit": 1}, headers=auth_headers(owner)
        )
        assert [m["body"] for m in only_email.json()["items"]] == ["Hello Camille"]

        rivals = await client.get(URL, headers=auth_headers(rival))
        assert [m["body"] for m in rivals.json()["items"]] == ["Not yours"]

    async def test_requires_login(self, client: AsyncClient) -> None:
        response = await client.get(URL)

        assert response.status_code == 401

    async def test_customers_cannot_read_an_outbox(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        customer = await create_customer(session)

        response = await client.get(URL, headers=auth_headers(customer))

        assert response.status_code == 403
