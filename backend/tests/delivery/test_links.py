"""What a customer finds in a message that went out: the unsubscribe link points where Rebook
listens and names the place the message came from, the WhatsApp sender is the configured
number, and every email has a Message-ID of its own, whichever database it came from."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from httpx import URL, AsyncClient
from sqlalchemy import text

from rebook.channels.mime import delivery_id_of
from rebook.config import get_settings
from rebook.db import get_engine, get_sessionmaker
from rebook.delivery.runtime import close_senders
from tests.delivery.conftest import TABLES, Shop, deliveries, drain, make_shop, start_campaign
from tests.factories import create_customer, create_owner, create_place
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

pytestmark = pytest.mark.usefixtures("committed")


@pytest.fixture
def smtp_backend(delivery_env: pytest.MonkeyPatch, smtp_sink: SmtpSink) -> SmtpSink:
    delivery_env.setenv("EMAIL_BACKEND", "smtp")
    delivery_env.setenv("SMTP_HOST", "127.0.0.1")
    delivery_env.setenv("SMTP_PORT", str(smtp_sink.port))
    get_settings.cache_clear()
    return smtp_sink


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def unsubscribe_link(message: EmailMessage) -> str:
    return str(message["List-Unsubscribe"]).strip().removeprefix("<").removesuffix(">")


async def send_emails(api: AsyncClient, shop: Shop) -> int:
    campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
    await drain()
    campaign_id: int = campaign["id"]
    return campaign_id


class TestUnsubscribeLinks:
    async def test_the_link_points_at_the_port_rebook_listens_on(
        self, api: AsyncClient, smtp_backend: SmtpSink, delivery_env: pytest.MonkeyPatch
    ) -> None:
        delivery_env.delenv("PUBLIC_BASE_URL")
        delivery_env.setenv("HOST", "127.0.0.1")
        delivery_env.setenv("PORT", "8104")
        get_settings.cache_clear()
        shop = await make_shop(customers=1, phone=False)

        await send_emails(api, shop)

        [received] = smtp_backend.received
        link = unsubscribe_link(received.message)
        assert link.startswith("http://127.0.0.1:8104/unsubscribe/")
        assert f"unsubscribe: {link}" in plain_text(received.message)

    async def test_the_page_names_the_place_the_email_came_from_then_says_it_is_done(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        async with get_sessionmaker()() as session:
            owner = await create_owner(session)
            await create_place(session, owner, name="Salon Paris")  # the owner's first place
            lyon = await create_place(session, owner, name="Salon Lyon")
            customer = await create_customer(session, phone=None, booked_at=[lyon])
        await send_emails(api, Shop(owner, lyon, [customer]))
        [received] = smtp_backend.received
        assert "Salon Lyon" in str(received.message["From"])
        path = URL(unsubscribe_link(received.message)).path

        asked = await api.get(path)
        done = await api.post(path, data={"List-Unsubscribe": "One-Click"})
        again = await api.get(path)

        assert "Do you want to stop receiving marketing emails from Salon Lyon?" in asked.text
        assert "no longer receive marketing emails from Salon Lyon." in done.text
        assert "already unsubscribed" in again.text
        assert "<form" not in again.text
        assert "Salon Paris" not in asked.text + done.text + again.text


class TestMessageIds:
    async def test_two_databases_never_send_the_same_message_id(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        first_shop = await make_shop(customers=3, phone=False)
        first_campaign = await send_emails(api, first_shop)
        first = {m.message["Message-ID"] for m in smtp_backend.received}
        stored = {
            d["provider_message_id"] for d in await deliveries(api, first_shop, first_campaign)
        }
        # A second installation: a fresh database whose ids start at 1 again.
        await close_senders()
        async with get_engine().begin() as conn:
            await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        smtp_backend.received.clear()

        second_shop = await make_shop(customers=3, phone=False)
        await send_emails(api, second_shop)
        second = {m.message["Message-ID"] for m in smtp_backend.received}

        assert len(first) == len(second) == 3
        assert {delivery_id_of(m) for m in first} == {delivery_id_of(m) for m in second}
        assert first.isdisjoint(second)
        assert stored == first  # what the owner sees is what a bounce quotes


class TestWhatsAppSender:
    @pytest.mark.parametrize("configured", ["whatsapp:+14155238886", "+1 415 523 8886"])
    async def test_the_sender_number_reaches_twilio_once_prefixed(
        self,
        api: AsyncClient,
        delivery_env: pytest.MonkeyPatch,
        fake_twilio: FakeTwilio,
        configured: str,
    ) -> None:
        delivery_env.setenv("WHATSAPP_BACKEND", "twilio")
        delivery_env.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
        delivery_env.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        delivery_env.setenv("TWILIO_WHATSAPP_NUMBER", configured)
        delivery_env.setenv("TWILIO_API_BASE_URL", fake_twilio.base_url)
        get_settings.cache_clear()
        shop = await make_shop(customers=2)

        campaign = await start_campaign(api, shop, channels=["whatsapp"], email_subject=None)
        await drain()

        assert [p["form"]["From"] for p in fake_twilio.posts()] == ["whatsapp:+14155238886"] * 2
        sent = await deliveries(api, shop, campaign["id"])
        assert [d["status"] for d in sent] == ["sent", "sent"]
