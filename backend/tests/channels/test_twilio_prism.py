"""Our Twilio requests, checked by Prism against Twilio's own OpenAPI description of the API:
Prism answers 422 to a request the spec does not allow, 2xx to one it does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from rebook.channels.base import OutgoingWhatsApp, SendFailure
from rebook.channels.twilio import TwilioWhatsAppSender
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.fixtures_channels import channel_settings


@pytest.fixture
async def sender(prism_url: str) -> AsyncIterator[TwilioWhatsAppSender]:
    sender = TwilioWhatsAppSender(channel_settings(twilio_api_base_url=prism_url), timeout=30)
    yield sender
    await sender.aclose()


def message(**kw: object) -> OutgoingWhatsApp:
    values: dict[str, object] = {
        "delivery_id": 12,
        "owner_id": 3,
        "to_e164": "+33612345678",
        "body": None,
        "content_sid": None,
        "content_variables": None,
        **kw,
    }
    return OutgoingWhatsApp(**values)  # type: ignore[arg-type]


class TestAgainstTwilioSpec:
    async def test_prism_rejects_a_request_the_spec_does_not_allow(self, prism_url: str) -> None:
        # Proof that Prism validates: a message without `To` is refused.
        async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN)) as client:
            response = await client.post(
                f"{prism_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                data={"Body": "no recipient"},
            )
        assert response.status_code == 422

    async def test_free_text_message_is_accepted(self, sender: TwilioWhatsAppSender) -> None:
        result = await sender.send(message(body="Hello Camille, 20% off this week."))

        assert result.provider_message_id

    async def test_template_message_is_accepted(self, sender: TwilioWhatsAppSender) -> None:
        result = await sender.send(
            message(
                content_sid="HX" + "0123456789abcdef" * 2,
                content_variables={"1": "Camille", "2": "Salon Paris"},
            )
        )

        assert result.provider_message_id

    async def test_message_lookup_is_accepted(self, sender: TwilioWhatsAppSender) -> None:
        # Prism's example messages are not ours: any answer but a refusal will do.
        try:
            await sender.find_sent(message(body="Hello"), datetime.now(UTC))
        except SendFailure as failure:  # pragma: no cover - shown on failure
            pytest.fail(f"Prism refused the lookup: {failure!r}")
