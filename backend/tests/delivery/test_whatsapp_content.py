"""The worker's WhatsApp sends under the 24-hour rule, through the real SDK against the fake
Twilio: free text to customers inside their window, the approved template (ContentSid and
ContentVariables) to the others, or skipped with the reason; a template Meta paused stops
the campaign's WhatsApp sends, with a clear message, and email goes on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from rebook.db import session_scope
from rebook.models import AuditEvent
from tests.delivery.conftest import Shop, deliveries, drain, make_shop, start_campaign, stats
from tests.fakes.twilio import TEMPLATE_SID, FakeTwilio, Rule, signed_callback

INBOUND = "/api/v1/webhooks/twilio/inbound"
TEMPLATE = {
    "whatsapp_content_sid": TEMPLATE_SID,
    "whatsapp_content_variables": {"1": "{{ first_name }}", "2": "{{ place_name }}"},
}


async def writes(api: AsyncClient, phone_e164: str) -> None:
    """The customer writes to the business on WhatsApp (Twilio's signed inbound webhook)."""
    params = {"From": f"whatsapp:{phone_e164}", "To": "whatsapp:+14155238886", "Body": "Hi!"}
    headers = signed_callback(f"https://rebook.example{INBOUND}", params)
    response = await api.post(INBOUND, data=params, headers=headers)
    assert response.status_code == 200


def by_name(rows: list[dict[str, Any]], channel: str = "whatsapp") -> dict[str, dict[str, Any]]:
    return {r["name"].split()[0]: r for r in rows if r["channel"] == channel}


def sent_to(fake: FakeTwilio) -> dict[str, dict[str, Any]]:
    return {p["form"]["To"].removeprefix("whatsapp:"): p["form"] for p in fake.posts()}


class TestTheWindowAtSend:
    async def test_free_text_inside_the_window_and_the_template_outside(
        self, api: AsyncClient, twilio_backend: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=2, wrote=False)
        inside, outside = (c.phone_e164 or "" for c in shop.customers)
        await writes(api, inside)
        await start_campaign(api, shop, channels=["whatsapp"], email_subject=None, **TEMPLATE)
        await drain()

        forms = sent_to(twilio_backend)
        assert forms[inside]["Body"] == "Hi Client0, see you at Salon Paris"
        assert "ContentSid" not in forms[inside]
        assert forms[outside]["ContentSid"] == TEMPLATE_SID
        assert json.loads(forms[outside]["ContentVariables"]) == {
            "1": "Client1",
            "2": "Salon Paris",
        }
        assert "Body" not in forms[outside]

    async def test_free_text_alone_skips_the_customers_outside_with_the_reason(
        self, api: AsyncClient, twilio_backend: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=2, wrote=False)
        await writes(api, shop.customers[0].phone_e164 or "")
        campaign = await start_campaign(api, shop, channels=["whatsapp"], email_subject=None)
        await drain()

        outcome = by_name(await deliveries(api, shop, campaign["id"]))
        assert outcome["Client0"]["status"] == "sent"
        assert (outcome["Client1"]["status"], outcome["Client1"]["error_message"]) == (
            "skipped",
            "Not sent: outside WhatsApp's 24-hour window — choose an approved template.",
        )
        assert list(sent_to(twilio_backend)) == [shop.customers[0].phone_e164]


async def history(campaign_id: int) -> list[AuditEvent]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(AuditEvent).where(
                AuditEvent.campaign_id == campaign_id,
                AuditEvent.action == "campaign.whatsapp_stopped",
            )
        )
        return list(rows.all())


class TestAPausedTemplate:
    async def test_meta_refusing_the_template_stops_the_campaigns_whatsapp_sends(
        self,
        api: AsyncClient,
        twilio_backend: FakeTwilio,
        delivery_env: pytest.MonkeyPatch,
    ) -> None:
        delivery_env.setenv("DELIVERY_PARALLEL_BATCHES", "1")
        shop = await make_shop(customers=30, wrote=False)
        for customer in shop.customers:
            twilio_backend.answer(
                customer.phone_e164 or "", Rule(status=400, code=63041, message="Template paused")
            )
        campaign = await start_campaign(api, shop, **TEMPLATE)
        await drain()

        rows = await deliveries(api, shop, campaign["id"])
        whatsapp, email = by_name(rows), by_name(rows, "email")
        assert {d["status"] for d in whatsapp.values()} == {"failed"}
        assert {d["error_message"] for d in whatsapp.values()} == {
            "Meta paused this template because customers blocked or reported it; Meta lifts a "
            "first pause after a few hours. Choose another approved template meanwhile. The "
            "campaign's other WhatsApp messages were not sent."
        }
        assert {(d["status"], d["error_message"]) for d in email.values()} == {("sent", None)}
        # The first chunk was on its way; the rest never reached Twilio.
        assert len(twilio_backend.posts()) <= 20
        assert (await stats(api, shop, campaign["id"]))["status"] == "partially_failed"
        [event] = await history(campaign["id"])
        assert event.details["code"] == "63041"

    async def test_a_template_paused_in_twilios_list_stops_before_any_call(
        self,
        api: AsyncClient,
        twilio_backend: FakeTwilio,
        delivery_env: pytest.MonkeyPatch,
    ) -> None:
        shop = await make_shop(customers=3, wrote=False)
        campaign = await start_campaign(api, shop, send_now=False, **_scheduled(), **TEMPLATE)
        twilio_backend.templates[0]["approval_requests"]["status"] = "paused"
        delivery_env.setenv("WHATSAPP_TEMPLATES_CACHE_SECONDS", "0")
        await _send_now(api, shop, campaign["id"])
        await drain()

        whatsapp = by_name(await deliveries(api, shop, campaign["id"]))
        assert {d["error_message"] for d in whatsapp.values()} == {
            "The template “Winback offer” was paused by Meta because customers blocked or "
            "reported it; Meta lifts the pause after a few hours, or disables a template "
            "paused again. The campaign's WhatsApp messages were not sent."
        }
        assert twilio_backend.posts() == []


def _scheduled() -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    return {"scheduled_send_time": (datetime.now(UTC) + timedelta(days=1)).isoformat()}


async def _send_now(api: AsyncClient, shop: Shop, campaign_id: int) -> None:
    from rebook.config import get_settings

    get_settings.cache_clear()
    base = "/api/v1/owner/campaigns"
    cancelled = await api.post(f"{base}/{campaign_id}/cancel", headers=shop.headers)
    assert cancelled.status_code == 200, cancelled.text
    sent = await api.post(
        f"{base}/{campaign_id}/send", params={"send_immediately": "true"}, headers=shop.headers
    )
    assert sent.status_code == 200, sent.text
