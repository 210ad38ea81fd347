"""Content at send: what the checks at save now refuse may already be in the database (saved
before them). The rendered HTML is sanitised before it leaves; a message that cannot render
fails at once with the reason; one over a channel's limit for a customer is skipped."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from rebook.config import get_settings
from rebook.db import session_scope
from rebook.models import CampaignMessage, CampaignRecipient
from tests.delivery.conftest import deliveries, drain, make_shop, start_campaign
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER, FakeTwilio

pytestmark = pytest.mark.usefixtures("committed")


@pytest.fixture
def smtp_backend(delivery_env: pytest.MonkeyPatch, smtp_sink: SmtpSink) -> SmtpSink:
    delivery_env.setenv("EMAIL_BACKEND", "smtp")
    delivery_env.setenv("SMTP_HOST", "127.0.0.1")
    delivery_env.setenv("SMTP_PORT", str(smtp_sink.port))
    get_settings.cache_clear()
    return smtp_sink


@pytest.fixture
def twilio_backend(delivery_env: pytest.MonkeyPatch, fake_twilio: FakeTwilio) -> FakeTwilio:
    delivery_env.setenv("WHATSAPP_BACKEND", "twilio")
    delivery_env.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    delivery_env.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    delivery_env.setenv("TWILIO_WHATSAPP_NUMBER", WHATSAPP_NUMBER)
    delivery_env.setenv("TWILIO_API_BASE_URL", fake_twilio.base_url)
    get_settings.cache_clear()
    return fake_twilio


async def store_legacy(campaign_id: int, channel: str, **values: str) -> None:
    """Write content straight to the database, as it was saved before today's checks."""
    async with session_scope() as session:
        await session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.campaign_id == campaign_id, CampaignMessage.channel == channel)
            .values(**values)
        )


def html_parts(sink: SmtpSink) -> list[str]:
    return [
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for received in sink.received
        for part in received.message.walk()
        if part.get_content_type() == "text/html"
    ]


class TestEmail:
    async def test_legacy_markup_is_sanitised_after_rendering(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        shop = await make_shop(customers=3, phone=False)
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
        await store_legacy(
            campaign["id"],
            "email",
            message_body='<p onclick="steal()">Hi {{ first_name }}</p><script>alert(1)</script>'
            '<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">go</a>',
        )
        await drain()

        parts = html_parts(smtp_backend)
        assert len(parts) == 3
        for html in parts:
            assert "<p>Hi Client" in html
            for word in ("<script", "alert(1)", "onerror", "onclick", "javascript:"):
                assert word not in html

    async def test_a_legacy_safe_payload_fails_at_once_and_nothing_is_sent(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        shop = await make_shop(customers=2, phone=False)
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
        await store_legacy(
            campaign["id"],
            "email",
            message_body="<p>{{ '\\x3cimg src=x onerror=alert(1)\\x3e'|safe }}</p>",
        )
        await drain()

        assert smtp_backend.received == []
        for delivery in await deliveries(api, shop, campaign["id"]):
            assert (delivery["status"], delivery["attempts"], delivery["error_code"]) == (
                "failed",
                1,
                "content",
            )
            assert delivery["error_message"].startswith(
                "Not sent: Email message cannot be personalised: line 1: `{{ "
            )

    async def test_a_subject_over_the_limit_for_a_customer_is_skipped(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        shop = await make_shop(customers=3, phone=False)
        campaign = await start_campaign(
            api,
            shop,
            channels=["email"],
            whatsapp_message=None,
            email_subject="s" * 200 + " {{ first_name }}",
        )
        # A name longer than any the check at save saw (recorded since, or saved before it).
        async with session_scope() as session:
            await session.execute(
                update(CampaignRecipient)
                .where(CampaignRecipient.user_id == shop.customers[1].id)
                .values(customer_first_name="N" * 100)
            )
        await drain()

        outcomes = await deliveries(api, shop, campaign["id"])
        assert len(smtp_backend.received) == 2
        assert [d["status"] for d in outcomes].count("sent") == 2
        (skipped,) = [d for d in outcomes if d["status"] == "skipped"]
        assert skipped["name"].startswith("N" * 100)
        assert skipped["error_message"] == (
            "Not sent: the subject would be 301 characters long; the limit is 255."
        )


class TestWhatsApp:
    async def test_legacy_content_that_cannot_render_fails_at_once_with_the_reason(
        self, api: AsyncClient, twilio_backend: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=2)
        campaign = await start_campaign(api, shop, channels=["whatsapp"], email_body=None)
        await store_legacy(campaign["id"], "whatsapp", message_body="Hi {{ 1/0 }}")
        await drain()

        assert twilio_backend.posts() == []
        for delivery in await deliveries(api, shop, campaign["id"]):
            assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
            assert delivery["error_message"] == (
                "Not sent: WhatsApp message cannot be personalised: line 1: `{{ 1/0 }}` is not "
                "a variable. A message can hold text and the variables {{ first_name }}, "
                "{{ last_name }}, {{ place_name }}, {{ unsubscribe_url }}, with a default value "
                'for an empty one like {{ first_name | default("there") }}.'
            )

    async def test_a_text_over_1600_characters_for_a_customer_is_skipped(
        self, api: AsyncClient, twilio_backend: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=4)
        # 1,600 characters as typed: at most 1,592 rendered for the names seen at save.
        campaign = await start_campaign(
            api,
            shop,
            channels=["whatsapp"],
            email_body=None,
            whatsapp_message="x" * 1584 + "{{ first_name }}",
        )
        long_name, emoji_name = shop.customers[1].id, shop.customers[2].id
        async with session_scope() as session:
            for user_id, name in ((long_name, "N" * 20), (emoji_name, "\U0001f600" * 10)):
                await session.execute(
                    update(CampaignRecipient)
                    .where(CampaignRecipient.user_id == user_id)
                    .values(customer_first_name=name)
                )
        await drain()

        bodies = [str(post["form"]["Body"]) for post in twilio_backend.posts()]
        assert sorted(len(body) for body in bodies) == [1591, 1591]
        outcomes = await deliveries(api, shop, campaign["id"])
        skipped = {
            d["name"].split()[0]: d["error_message"] for d in outcomes if d["status"] == "skipped"
        }
        assert skipped == {
            "N" * 20: "Not sent: the WhatsApp message would be 1,604 characters long; WhatsApp "
            "allows 1,600 (an emoji counts as 2).",
            # 1,594 characters, 1,604 as Twilio counts them.
            "\U0001f600" * 10: "Not sent: the WhatsApp message would be 1,604 characters long; "
            "WhatsApp allows 1,600 (an emoji counts as 2).",
        }
