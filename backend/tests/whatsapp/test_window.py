"""WhatsApp's 24-hour rule: a customer's message to the business (the inbound webhook)
opens their window; free text goes only to customers inside it, the others get the
campaign's template or are skipped with the reason. The send summary and the preview say
which, before the owner confirms."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.channels.outbox import DEMO_TEMPLATES
from rebook.config import Settings, get_settings
from rebook.models import WhatsAppServiceWindow
from rebook.whatsapp import windows
from tests.fakes.twilio import WHATSAPP_NUMBER, signed_callback
from tests.fixtures_channels import PUBLIC_BASE_URL
from tests.messaging.conftest import BASE, World, create_messaging_campaign
from tests.whatsapp.conftest import Clock

INBOUND = "/api/v1/webhooks/twilio/inbound"
SPRING = DEMO_TEMPLATES[0].content_sid
SPRING_VALUES = {"1": "{{ first_name }}", "2": "{{ place_name }}"}


async def customer_writes(
    client: AsyncClient, phone_e164: str, body: str = "Hi, any slot on Friday?", to: str = ""
) -> Response:
    params = {
        "AccountSid": "AC" + "1234567890abcdef" * 2,
        "MessageSid": "SM" + "f" * 32,
        "From": f"whatsapp:{phone_e164}",
        "To": to or f"whatsapp:{WHATSAPP_NUMBER}",
        "Body": body,
        "NumMedia": "0",
    }
    headers = signed_callback(f"{PUBLIC_BASE_URL}{INBOUND}", params)
    response = await client.post(INBOUND, data=params, headers=headers)
    assert response.status_code == 200
    return response


async def last_wrote(session: AsyncSession, phone_e164: str) -> datetime | None:
    return await session.scalar(
        select(WhatsAppServiceWindow.last_inbound_at).where(
            WhatsAppServiceWindow.phone_e164 == phone_e164
        )
    )


class TestTheRule:
    NOW = datetime.fromisoformat("2026-12-02T10:00:00+00:00")

    @pytest.mark.parametrize(
        ("wrote_ago", "open_"),
        [
            (timedelta(minutes=1), True),
            (windows.OPEN_FOR - timedelta(seconds=1), True),
            (windows.OPEN_FOR, False),  # the edge: closed
            (timedelta(hours=24), False),
            (timedelta(days=3), False),
        ],
    )
    def test_the_window_closes_before_the_24_hours_are_out(
        self, wrote_ago: timedelta, open_: bool
    ) -> None:
        assert windows.is_open(self.NOW - wrote_ago, self.NOW) is open_

    def test_a_customer_who_never_wrote_is_outside(self) -> None:
        assert windows.is_open(None, self.NOW) is False

    def test_free_text_inside_the_template_outside_or_nothing(self) -> None:
        assert windows.choose(has_text=True, has_template=True, window_open=True) == "text"
        assert windows.choose(has_text=True, has_template=True, window_open=False) == "template"
        assert windows.choose(has_text=False, has_template=True, window_open=True) == "template"
        assert windows.choose(has_text=True, has_template=False, window_open=False) is None


class TestInboundMessages:
    async def test_any_message_opens_the_window_at_the_time_it_arrives(
        self,
        client: AsyncClient,
        session: AsyncSession,
        webhook_settings: Settings,
        clock: Clock,
    ) -> None:
        response = await customer_writes(client, "+33612345678")

        assert await last_wrote(session, "+33612345678") == clock.now
        assert response.text.endswith("<Response/>")  # no answer to a plain message

    async def test_a_later_message_extends_it_and_a_late_webhook_never_shortens_it(
        self,
        client: AsyncClient,
        session: AsyncSession,
        webhook_settings: Settings,
        clock: Clock,
    ) -> None:
        await customer_writes(client, "+33612345678")
        clock.advance(hours=3)
        await customer_writes(client, "+33612345678")
        latest = clock.now
        clock.advance(hours=-2)  # a webhook Twilio retried late, for an older message
        await customer_writes(client, "+33612345678")

        assert await last_wrote(session, "+33612345678") == latest

    async def test_a_message_to_another_number_of_the_account_opens_nothing(
        self,
        client: AsyncClient,
        session: AsyncSession,
        webhook_settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
        clock: Clock,
    ) -> None:
        monkeypatch.setenv("TWILIO_WHATSAPP_NUMBER", WHATSAPP_NUMBER)
        get_settings.cache_clear()
        await customer_writes(client, "+33612345678", to="whatsapp:+14155550100")

        assert await last_wrote(session, "+33612345678") is None

    async def test_stop_still_unsubscribes(
        self,
        client: AsyncClient,
        session: AsyncSession,
        webhook_settings: Settings,
        clock: Clock,
    ) -> None:
        response = await customer_writes(client, "+33612345678", body="STOP")
        # Nobody messaged this number yet: nothing to unsubscribe from, but it did write.
        assert await last_wrote(session, "+33612345678") == clock.now
        assert response.status_code == 200


async def campaign_for(
    client: AsyncClient, world: World, recipients: list[int], **config: Any
) -> dict[str, Any]:
    campaign = await create_messaging_campaign(
        client, world, channels=["whatsapp"], email_subject=None, email_body=None, **config
    )
    added = await client.post(
        f"{BASE}/{campaign['id']}/recipients", json={"user_ids": recipients}, headers=world.headers
    )
    assert added.status_code == 200, added.text
    return campaign


async def whatsapp_summary(client: AsyncClient, world: World, campaign_id: int) -> dict[str, Any]:
    response = await client.get(f"{BASE}/{campaign_id}/send-summary", headers=world.headers)
    assert response.status_code == 200, response.text
    (whatsapp,) = response.json()["channels"]
    return {"deliverable": whatsapp["deliverable"], **whatsapp["whatsapp"]}


class TestBeforeSending:
    """Alice wrote just inside the window's end, Emma exactly at it, Chloe never."""

    @pytest.fixture
    async def wrote(
        self, client: AsyncClient, world: World, webhook_settings: Settings, clock: Clock
    ) -> World:
        start = clock.now
        clock.now = start - windows.OPEN_FOR + timedelta(seconds=1)
        await customer_writes(client, world.alice.phone_e164 or "")
        clock.now = start - windows.OPEN_FOR
        await customer_writes(client, world.emma.phone_e164 or "")
        clock.now = start
        return world

    async def test_the_summary_splits_free_text_and_template_at_the_windows_edge(
        self, client: AsyncClient, wrote: World
    ) -> None:
        world = wrote
        campaign = await campaign_for(
            client,
            world,
            [world.alice.id, world.emma.id, world.chloe.id],
            whatsapp_content_sid=SPRING,
            whatsapp_content_variables=SPRING_VALUES,
        )

        assert await whatsapp_summary(client, world, campaign["id"]) == {
            "deliverable": 3,
            "free_text": 1,
            "template": 2,
            "skipped_outside_window": 0,
        }

    async def test_free_text_alone_reaches_only_the_customer_inside(
        self, client: AsyncClient, wrote: World
    ) -> None:
        world = wrote
        campaign = await campaign_for(
            client, world, [world.alice.id, world.emma.id, world.chloe.id]
        )

        assert await whatsapp_summary(client, world, campaign["id"]) == {
            "deliverable": 1,
            "free_text": 1,
            "template": 0,
            "skipped_outside_window": 2,
        }

    async def test_the_preview_says_what_each_recipient_gets_now(
        self, client: AsyncClient, wrote: World
    ) -> None:
        world = wrote
        campaign = await campaign_for(
            client,
            world,
            [world.alice.id, world.emma.id],
            whatsapp_content_sid=SPRING,
            whatsapp_content_variables=SPRING_VALUES,
        )

        async def preview(user_id: int) -> dict[str, Any]:
            response = await client.post(
                f"{BASE}/{campaign['id']}/preview", json={"user_id": user_id}, headers=world.headers
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()["whatsapp"]
            return body

        alice, emma = await preview(world.alice.id), await preview(world.emma.id)
        assert (alice["window_open"], alice["receives"]) == (True, "text")
        assert alice["text"] == "Hi Alice, 20% off at Salon Paris this week."
        assert (emma["window_open"], emma["receives"]) == (False, "template")
        assert emma["template"]["text"].startswith("Hi Emma! Spring is here at Salon Paris:")

    async def test_the_preview_of_free_text_alone_says_why_nothing_arrives(
        self, client: AsyncClient, wrote: World
    ) -> None:
        world = wrote
        campaign = await campaign_for(client, world, [world.chloe.id])
        response = await client.post(
            f"{BASE}/{campaign['id']}/preview",
            json={"user_id": world.chloe.id},
            headers=world.headers,
        )

        whatsapp = response.json()["whatsapp"]
        assert whatsapp["receives"] is None
        assert whatsapp["skipped_reason"] == (
            "Not sent: outside WhatsApp's 24-hour window — choose an approved template."
        )
