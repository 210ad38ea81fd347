from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.channels.base import OutgoingWhatsApp
from rebook.channels.twilio import TwilioWhatsAppSender
from rebook.config import Settings
from rebook.models import AuditEvent, Campaign, CampaignDelivery, MarketingSuppression, User
from rebook.unsubscribe import service as unsubscribe_service
from rebook.webhooks import service as webhooks_service
from rebook.webhooks.service import CallbackOutcome
from tests.factories import create_customer, create_owner, create_place
from tests.fakes.twilio import (
    WHATSAPP_NUMBER,
    FakeTwilio,
    send_status_callback,
    signed_callback,
)
from tests.fixtures_channels import PUBLIC_BASE_URL, channel_settings, create_delivery

STATUS_PATH = "/api/v1/webhooks/twilio/status"
INBOUND_PATH = "/api/v1/webhooks/twilio/inbound"
SID = "SM" + "0123456789abcdef" * 2


def callback_url(delivery_id: int) -> str:
    return f"{PUBLIC_BASE_URL}{STATUS_PATH}?delivery_id={delivery_id}"


async def fresh(session: AsyncSession, delivery: CampaignDelivery) -> CampaignDelivery:
    await session.refresh(delivery)
    return delivery


@pytest.fixture
async def delivery(session: AsyncSession, webhook_settings: Settings) -> CampaignDelivery:
    owner = await create_owner(session)
    customer = await create_customer(session, phone="06 12 34 56 78")
    return await create_delivery(session, owner, customer, provider_message_id=SID)


class TestStatusCallbacks:
    async def test_delivered_updates_the_provider_status(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        response = await send_status_callback(
            client, callback_url(delivery.id), message_sid=SID, status="delivered"
        )

        assert response.status_code == 204
        delivery = await fresh(session, delivery)
        assert delivery.provider_status == "delivered"
        assert delivery.status == "sent"
        assert delivery.error_code is None

    async def test_failure_fails_the_delivery_with_a_sentence_and_the_price(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        response = await send_status_callback(
            client,
            callback_url(delivery.id),
            message_sid=SID,
            status="failed",
            error_code="63016",
            price="-0.00500",
        )

        assert response.status_code == 204
        delivery = await fresh(session, delivery)
        assert delivery.provider_status == "failed"
        assert delivery.status == "failed"
        assert delivery.error_code == "63016"
        assert delivery.error_message is not None
        assert "approved template" in delivery.error_message
        assert delivery.cost == Decimal("0.00500")

    async def test_a_paused_template_reported_later_stops_the_campaigns_other_messages(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        campaign = await session.get(Campaign, delivery.campaign_id)
        assert campaign is not None
        owner = await session.get(User, campaign.owner_id)
        assert owner is not None
        other = await create_customer(session, phone="06 98 76 54 32")
        waiting = await create_delivery(session, owner, other, status="pending", campaign=campaign)
        response = await send_status_callback(
            client, callback_url(delivery.id), message_sid=SID, status="failed", error_code="63041"
        )

        assert response.status_code == 204
        waiting = await fresh(session, waiting)
        assert (waiting.status, waiting.error_code) == ("failed", "63041")
        assert waiting.error_message == (await fresh(session, delivery)).error_message
        assert (waiting.error_message or "").startswith("Meta paused this template")
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "campaign.whatsapp_stopped")
        )
        assert event is not None
        assert event.details["stopped"] == 1

    async def test_price_of_a_delivered_message_is_stored_as_a_positive_cost(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        await send_status_callback(
            client, callback_url(delivery.id), message_sid=SID, status="sent", price="-0.0085"
        )

        delivery = await fresh(session, delivery)
        assert delivery.cost == Decimal("0.0085")
        assert delivery.provider_status == "sent"

    async def test_a_repeated_callback_changes_nothing(
        self, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        first = await webhooks_service.apply_status_callback(
            session, message_sid=SID, message_status="delivered", idempotency_token="t-1"
        )
        again = await webhooks_service.apply_status_callback(
            session, message_sid=SID, message_status="delivered", idempotency_token="t-1"
        )

        assert (first, again) == (CallbackOutcome.applied, CallbackOutcome.ignored)

    async def test_a_repeated_callback_through_http_is_answered_and_ignored(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        for _ in range(2):
            response = await send_status_callback(
                client,
                callback_url(delivery.id),
                message_sid=SID,
                status="failed",
                error_code="30003",
            )
            assert response.status_code == 204

        delivery = await fresh(session, delivery)
        assert (delivery.provider_status, delivery.status, delivery.error_code) == (
            "failed",
            "failed",
            "30003",
        )

    async def test_read_then_a_late_delivered_keeps_read(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        for status in ("read", "delivered", "sent"):
            response = await send_status_callback(
                client, callback_url(delivery.id), message_sid=SID, status=status
            )
            assert response.status_code == 204

        delivery = await fresh(session, delivery)
        assert delivery.provider_status == "read"

    async def test_a_late_failure_after_delivery_is_final(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        for status in ("undelivered", "delivered"):
            await send_status_callback(
                client,
                callback_url(delivery.id),
                message_sid=SID,
                status=status,
                error_code="30005" if status == "undelivered" else None,
            )

        delivery = await fresh(session, delivery)
        assert delivery.provider_status == "undelivered"
        assert delivery.status == "failed"

    async def test_callback_before_the_engine_saved_the_message_id_finds_the_delivery(
        self, client: AsyncClient, session: AsyncSession, webhook_settings: Settings
    ) -> None:
        delivery = await in_call(session)

        await send_status_callback(
            client, callback_url(delivery.id), message_sid=SID, status="queued"
        )

        delivery = await fresh(session, delivery)
        assert delivery.provider_message_id == SID
        assert delivery.provider_status == "queued"

    async def test_a_failure_reported_before_the_engine_saved_the_outcome_fails_it(
        self, client: AsyncClient, session: AsyncSession, webhook_settings: Settings
    ) -> None:
        delivery = await in_call(session)

        await send_status_callback(
            client,
            callback_url(delivery.id),
            message_sid=SID,
            status="failed",
            error_code="63016",
        )

        delivery = await fresh(session, delivery)
        assert (delivery.status, delivery.error_code) == ("failed", "63016")

    async def test_a_callback_for_another_message_of_the_delivery_is_ignored(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        other_sid = "SM" + "f" * 32

        response = await send_status_callback(
            client, callback_url(delivery.id), message_sid=other_sid, status="failed"
        )

        assert response.status_code == 204
        delivery = await fresh(session, delivery)
        assert delivery.provider_message_id == SID
        assert delivery.provider_status is None


async def in_call(
    session: AsyncSession, *, status: str = "sending", error_code: str | None = None
) -> CampaignDelivery:
    """A WhatsApp delivery to +33612345678 whose provider call began and told us no message
    id: its answer is on its way, or came after the client gave up."""
    owner = await create_owner(session)
    customer = await create_customer(session)
    delivery = await create_delivery(session, owner, customer, status=status)
    delivery.provider_call_at = datetime.now(UTC)
    delivery.error_code = error_code
    await session.commit()
    return delivery


class TestACallbackChangesOnlyItsOwnDelivery:
    async def test_an_unknown_message_cannot_take_over_a_pending_delivery(
        self, client: AsyncClient, session: AsyncSession, webhook_settings: Settings
    ) -> None:
        owner = await create_owner(session)
        customer = await create_customer(session)
        delivery = await create_delivery(session, owner, customer, status="pending")

        response = await send_status_callback(
            client, callback_url(delivery.id), message_sid=SID, status="failed", error_code="30008"
        )

        assert response.status_code == 204
        delivery = await fresh(session, delivery)
        assert (delivery.status, delivery.provider_message_id, delivery.provider_status) == (
            "pending",
            None,
            None,
        )
        assert delivery.error_code is None

    @pytest.mark.parametrize("status", ["sent", "skipped", "cancelled"])
    async def test_a_finished_delivery_without_a_message_id_is_left_alone(
        self, client: AsyncClient, session: AsyncSession, webhook_settings: Settings, status: str
    ) -> None:
        delivery = await in_call(session, status=status)

        await send_status_callback(
            client, callback_url(delivery.id), message_sid=SID, status="failed"
        )

        delivery = await fresh(session, delivery)
        assert (delivery.status, delivery.provider_message_id) == (status, None)

    async def test_a_delivery_whose_call_has_not_begun_is_left_alone(
        self, client: AsyncClient, session: AsyncSession, webhook_settings: Settings
    ) -> None:
        delivery = await in_call(session)
        delivery.provider_call_at = None
        await session.commit()

        await send_status_callback(
            client, callback_url(delivery.id), message_sid=SID, status="failed"
        )

        delivery = await fresh(session, delivery)
        assert (delivery.status, delivery.provider_message_id) == ("sending", None)

    async def test_a_message_to_another_number_is_not_attached(
        self, client: AsyncClient, session: AsyncSession, webhook_settings: Settings
    ) -> None:
        delivery = await in_call(session)

        await send_status_callback(
            client,
            callback_url(delivery.id),
            message_sid=SID,
            status="failed",
            to="whatsapp:+447700900123",
        )

        delivery = await fresh(session, delivery)
        assert (delivery.status, delivery.provider_message_id) == ("sending", None)

    async def test_an_email_delivery_is_never_named_by_a_callback(
        self, client: AsyncClient, session: AsyncSession, webhook_settings: Settings
    ) -> None:
        owner = await create_owner(session)
        customer = await create_customer(session)
        email = await create_delivery(
            session, owner, customer, channel="email", provider_message_id=SID
        )

        await send_status_callback(client, callback_url(email.id), message_sid=SID, status="failed")

        email = await fresh(session, email)
        assert (email.status, email.provider_status) == ("sent", None)

    async def test_a_late_answer_after_a_timeout_is_learnt_from_its_callback(
        self, client: AsyncClient, session: AsyncSession, webhook_settings: Settings
    ) -> None:
        # The client gave up after 15 s and the delivery waits for its retry; Twilio's 201
        # came later, so only its callbacks can say which message it was.
        delivery = await in_call(session, status="pending", error_code="timeout")

        await send_status_callback(
            client, callback_url(delivery.id), message_sid=SID, status="delivered"
        )

        delivery = await fresh(session, delivery)
        assert (delivery.provider_message_id, delivery.provider_status) == (SID, "delivered")
        assert delivery.status == "pending"  # what the retry does with it is the engine's

    async def test_a_failure_after_delivered_leaves_the_delivery_sent(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        for status in ("delivered", "failed", "undelivered"):
            response = await send_status_callback(
                client,
                callback_url(delivery.id),
                message_sid=SID,
                status=status,
                error_code=None if status == "delivered" else "30008",
            )
            assert response.status_code == 204

        delivery = await fresh(session, delivery)
        assert (delivery.status, delivery.provider_status) == ("sent", "delivered")
        assert (delivery.error_code, delivery.error_message) == (None, None)

    async def test_a_failure_after_read_leaves_the_delivery_sent(
        self, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        await webhooks_service.apply_status_callback(
            session, message_sid=SID, message_status="read"
        )
        outcome = await webhooks_service.apply_status_callback(
            session, message_sid=SID, message_status="failed", error_code="30008"
        )

        assert outcome == CallbackOutcome.ignored
        delivery = await fresh(session, delivery)
        assert (delivery.status, delivery.provider_status) == ("sent", "read")

    async def test_a_failure_after_sent_still_fails_the_delivery(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        for status in ("sent", "undelivered"):
            await send_status_callback(
                client,
                callback_url(delivery.id),
                message_sid=SID,
                status=status,
                error_code="30003" if status == "undelivered" else None,
            )

        delivery = await fresh(session, delivery)
        assert (delivery.status, delivery.provider_status) == ("failed", "undelivered")


class TestSignature:
    async def test_invalid_signature_is_403_and_changes_nothing(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        params = {"MessageSid": SID, "MessageStatus": "failed", "ErrorCode": "21211"}
        headers = signed_callback(callback_url(delivery.id), params, auth_token="wrong-token")

        response = await client.post(
            f"{STATUS_PATH}?delivery_id={delivery.id}", data=params, headers=headers
        )

        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"
        delivery = await fresh(session, delivery)
        assert delivery.provider_status is None
        assert delivery.status == "sent"

    async def test_missing_signature_is_403(
        self, client: AsyncClient, delivery: CampaignDelivery
    ) -> None:
        response = await client.post(
            f"{STATUS_PATH}?delivery_id={delivery.id}",
            data={"MessageSid": SID, "MessageStatus": "read"},
        )

        assert response.status_code == 403

    async def test_a_signature_for_another_delivery_url_is_403(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        params = {"MessageSid": SID, "MessageStatus": "failed"}
        headers = signed_callback(callback_url(delivery.id + 1), params)

        response = await client.post(
            f"{STATUS_PATH}?delivery_id={delivery.id}", data=params, headers=headers
        )

        assert response.status_code == 403

    async def test_a_changed_parameter_breaks_the_signature(
        self, client: AsyncClient, session: AsyncSession, delivery: CampaignDelivery
    ) -> None:
        params = {"MessageSid": SID, "MessageStatus": "delivered"}
        headers = signed_callback(callback_url(delivery.id), params)

        response = await client.post(
            f"{STATUS_PATH}?delivery_id={delivery.id}",
            data={**params, "MessageStatus": "failed"},
            headers=headers,
        )

        assert response.status_code == 403
        assert (await fresh(session, delivery)).provider_status is None


async def post_inbound(client: AsyncClient, body: str, sender: str) -> Response:
    params = {
        "AccountSid": "AC" + "1234567890abcdef" * 2,
        "MessageSid": "SM" + "e" * 32,
        "From": sender,
        "To": f"whatsapp:{WHATSAPP_NUMBER}",
        "Body": body,
        "NumMedia": "0",
    }
    headers = signed_callback(f"{PUBLIC_BASE_URL}{INBOUND_PATH}", params)
    return await client.post(INBOUND_PATH, data=params, headers=headers)


class TestInboundStop:
    @pytest.fixture
    async def people(
        self, session: AsyncSession, webhook_settings: Settings
    ) -> tuple[User, User, User]:
        owner, bystander = await create_owner(session), await create_owner(session)
        place = await create_place(session, owner)
        customer = await create_customer(session, phone="06 12 34 56 78", booked_at=[place])
        assert customer.phone_e164 == "+33612345678"
        await create_delivery(session, owner, customer, phone_e164="+33612345678")
        # Another owner emailed the same customer: a WhatsApp STOP is not about them.
        await create_delivery(
            session, bystander, customer, channel="email", phone_e164="+33612345678"
        )
        return owner, bystander, customer

    async def suppressions(self, session: AsyncSession) -> list[tuple[int, int, str, str]]:
        rows = await session.execute(
            select(
                MarketingSuppression.owner_id,
                MarketingSuppression.user_id,
                MarketingSuppression.channel,
                MarketingSuppression.source,
            )
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("word", "reply"),
        [
            ("STOP", "You're unsubscribed and will not receive"),
            (" stop ", "You're unsubscribed"),
            ("Unsubscribe", "You're unsubscribed"),
            ("STOPALL", "You're unsubscribed"),
            ("quit", "You're unsubscribed"),
            ("Stop!", "You're unsubscribed"),
            ("STOPP", "Sie sind abgemeldet"),
            ("Aufhören", "Sie sind abgemeldet"),
            ("ARRÊT", "Vous êtes désinscrit"),
            ("arret", "Vous êtes désinscrit"),
            ("ALTO", "Te has dado de baja"),
            ("Baja.", "Te has dado de baja"),
            ("PARAR", "Você cancelou a inscrição"),
            ("annulla", "Hai annullato l'iscrizione"),
            ("Afmelden", "Je bent afgemeld"),
        ],
    )
    async def test_stop_suppresses_whatsapp_for_the_owner_who_messaged_the_number(
        self,
        client: AsyncClient,
        session: AsyncSession,
        people: tuple[User, User, User],
        word: str,
        reply: str,
    ) -> None:
        owner, bystander, customer = people

        response = await post_inbound(client, word, "whatsapp:+33612345678")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xml")
        assert f"<Message>{html.escape(reply, quote=False)}" in response.text
        suppressions = await self.suppressions(session)
        assert suppressions == [(owner.id, customer.id, "whatsapp", "whatsapp_stop")]
        assert bystander.id not in {owner_id for owner_id, *_ in suppressions}
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.owner_id == owner.id))
        ).all()
        assert [(e.action, e.actor_user_id, e.details["source"]) for e in events] == [
            ("customer.unsubscribed", customer.id, "whatsapp_stop")
        ]

    async def test_stop_twice_records_one_suppression(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User, User]
    ) -> None:
        for _ in range(2):
            await post_inbound(client, "STOP", "whatsapp:+33612345678")

        assert len(await self.suppressions(session)) == 1
        assert await session.scalar(select(func.count(AuditEvent.id))) == 1

    async def test_other_text_records_nothing_and_answers_empty_twiml(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User, User]
    ) -> None:
        response = await post_inbound(client, "Stop by tomorrow?", "whatsapp:+33612345678")

        assert response.status_code == 200
        assert response.text.endswith("<Response/>")
        assert await self.suppressions(session) == []

    @pytest.mark.parametrize("text", ["Stop by tomorrow?", "STOP PLEASE", "stopping", "Yes"])
    async def test_a_sentence_is_not_a_keyword(
        self,
        client: AsyncClient,
        session: AsyncSession,
        people: tuple[User, User, User],
        text: str,
    ) -> None:
        response = await post_inbound(client, text, "whatsapp:+33612345678")

        assert response.text.endswith("<Response/>")
        assert await self.suppressions(session) == []

    @pytest.mark.parametrize(
        ("word", "reply"),
        [
            ("START", "You're subscribed again to marketing messages on WhatsApp"),
            ("unstop", "You're subscribed again"),
            ("Anmelden", "Sie erhalten wieder Werbenachrichten"),
            ("ALTA", "Volverás a recibir mensajes"),
        ],
    )
    async def test_start_undoes_a_stop_in_the_audit_trail_too(
        self,
        client: AsyncClient,
        session: AsyncSession,
        people: tuple[User, User, User],
        word: str,
        reply: str,
    ) -> None:
        owner, _, customer = people
        await post_inbound(client, "STOP", "whatsapp:+33612345678")
        assert len(await self.suppressions(session)) == 1

        response = await post_inbound(client, word, "whatsapp:+33612345678")

        assert response.status_code == 200
        assert f"<Message>{html.escape(reply, quote=False)}" in response.text
        assert await self.suppressions(session) == []
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.owner_id == owner.id).order_by(AuditEvent.id)
            )
        ).all()
        assert [(e.action, e.actor_user_id, e.details["source"]) for e in events] == [
            ("customer.unsubscribed", customer.id, "whatsapp_stop"),
            ("customer.resubscribed", customer.id, "whatsapp_start"),
        ]
        assert events[1].details["lifted_source"] == "whatsapp_stop"
        assert events[1].ip_address == "203.0.113.7"

    async def test_stop_after_start_stops_again(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User, User]
    ) -> None:
        owner, _, customer = people
        for word in ("STOP", "START", "STOPP"):
            await post_inbound(client, word, "whatsapp:+33612345678")

        assert await self.suppressions(session) == [
            (owner.id, customer.id, "whatsapp", "whatsapp_stop")
        ]

    async def test_start_leaves_email_opt_outs_alone(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User, User]
    ) -> None:
        owner, _, customer = people
        await unsubscribe_service.suppress(
            session, owner_id=owner.id, user_id=customer.id, channel="email", source="one_click"
        )

        await post_inbound(client, "START", "whatsapp:+33612345678")

        assert await self.suppressions(session) == [(owner.id, customer.id, "email", "one_click")]

    async def test_start_from_a_number_nobody_messaged_answers_nothing(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User, User]
    ) -> None:
        response = await post_inbound(client, "START", "whatsapp:+447700900123")

        assert response.text.endswith("<Response/>")
        assert await session.scalar(select(func.count(AuditEvent.id))) == 0

    async def test_unsigned_inbound_is_403_and_records_nothing(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User, User]
    ) -> None:
        response = await client.post(
            INBOUND_PATH, data={"From": "whatsapp:+33612345678", "Body": "STOP"}
        )

        assert response.status_code == 403
        assert await self.suppressions(session) == []


class TestRoundTrip:
    async def test_a_message_sent_through_the_sdk_is_updated_by_its_own_callback(
        self,
        client: AsyncClient,
        session: AsyncSession,
        webhook_settings: Settings,
        fake_twilio: FakeTwilio,
    ) -> None:
        owner = await create_owner(session)
        customer = await create_customer(session, phone="06 12 34 56 78")
        delivery = await create_delivery(session, owner, customer, status="sending")
        sender = TwilioWhatsAppSender(channel_settings(twilio_api_base_url=fake_twilio.base_url))
        try:
            result = await sender.send(
                OutgoingWhatsApp(
                    delivery_id=delivery.id,
                    owner_id=owner.id,
                    to_e164="+33612345678",
                    body="Hello",
                    content_sid=None,
                    content_variables=None,
                )
            )
        finally:
            await sender.aclose()
        delivery.status = "sent"
        delivery.provider_message_id = result.provider_message_id
        await session.commit()
        assert result.provider_message_id is not None
        callback = fake_twilio.message(result.provider_message_id).status_callback
        assert callback is not None

        response = await send_status_callback(
            client,
            callback,
            message_sid=result.provider_message_id,
            status="undelivered",
            error_code="30003",
            price="-0.0050",
        )

        assert response.status_code == 204
        delivery = await fresh(session, delivery)
        assert (delivery.status, delivery.provider_status, delivery.error_code) == (
            "failed",
            "undelivered",
            "30003",
        )
        assert delivery.error_message == (
            "The customer's phone was unreachable; the message was not delivered."
        )
        assert delivery.cost == Decimal("0.0050")
