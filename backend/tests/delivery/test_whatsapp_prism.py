"""A WhatsApp campaign from the owner's template list to the messages, with the real SDK
against Prism on both of Twilio's specs (Content API and Messages): every request we make is
one the specs allow, or Prism answers 422 and the delivery fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from httpx import AsyncClient

from tests.delivery.conftest import deliveries, drain, make_shop, start_campaign
from tests.delivery.test_whatsapp_content import by_name, writes
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER


@pytest.fixture
def prism_backend(
    delivery_env: pytest.MonkeyPatch, prism_url: str, prism_content_with_templates_url: str
) -> Iterator[None]:
    from rebook.config import get_settings

    for name, value in {
        "WHATSAPP_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_NUMBER": WHATSAPP_NUMBER,
        "TWILIO_API_BASE_URL": prism_url,
        "TWILIO_CONTENT_BASE_URL": prism_content_with_templates_url,
        "TWILIO_TIMEOUT_SECONDS": "30",
    }.items():
        delivery_env.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_a_template_picked_by_name_and_free_text_go_out_as_twilios_specs_allow(
    api: AsyncClient, prism_backend: None
) -> None:
    shop = await make_shop(customers=3, wrote=False)
    await writes(api, shop.customers[0].phone_e164 or "")
    listed = await api.get("/api/v1/owner/whatsapp-templates", headers=shop.headers)
    by_template = {t["name"]: t for t in listed.json()["items"]}
    media = by_template["Media Test"]  # the spec's approved template
    assert (media["can_send"], media["placeholders"]) == (True, ["1", "2"])
    assert by_template["Video Highlights"]["can_send"] is False

    campaign = await start_campaign(
        api,
        shop,
        channels=["whatsapp"],
        email_subject=None,
        whatsapp_content_sid=media["content_sid"],
        whatsapp_content_variables={"1": "{{ first_name }}", "2": "on your spring visit"},
    )
    await drain()

    outcome = by_name(await deliveries(api, shop, campaign["id"]))
    assert {name: d["status"] for name, d in outcome.items()} == {
        "Client0": "sent",  # the free text, inside the window
        "Client1": "sent",  # the template
        "Client2": "sent",
    }
    assert all(d["provider_message_id"].startswith("SM") for d in outcome.values())
