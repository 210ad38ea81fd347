"""WhatsApp through the real `twilio` SDK and its async HTTP client, against the local fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from rebook.channels.backends import whatsapp_sender
from rebook.channels.base import OutgoingWhatsApp, SendFailure
from rebook.channels.twilio import TwilioWhatsAppSender
from tests.fakes.net import free_port
from tests.fakes.twilio import WHATSAPP_NUMBER, FakeTwilio, Rule
from tests.fixtures_channels import PUBLIC_BASE_URL, channel_settings

TO = "+33612345678"


def text(delivery_id: int = 7, to: str = TO, body: str = "Hello Camille") -> OutgoingWhatsApp:
    return OutgoingWhatsApp(
        delivery_id=delivery_id,
        owner_id=3,
        to_e164=to,
        body=body,
        content_sid=None,
        content_variables=None,
    )


def template(delivery_id: int = 8) -> OutgoingWhatsApp:
    return OutgoingWhatsApp(
        delivery_id=delivery_id,
        owner_id=3,
        to_e164=TO,
        body=None,
        content_sid="HX" + "a" * 32,
        content_variables={"1": "Camille", "2": "Salon Paris"},
    )


@pytest.fixture
async def sender(fake_twilio: FakeTwilio) -> AsyncIterator[TwilioWhatsAppSender]:
    settings = channel_settings(whatsapp_backend="twilio", twilio_api_base_url=fake_twilio.base_url)
    chosen = whatsapp_sender(settings)
    assert isinstance(chosen, TwilioWhatsAppSender)
    yield chosen
    await chosen.aclose()


class TestRequests:
    async def test_free_text_goes_from_our_whatsapp_number_with_a_per_delivery_callback(
        self, sender: TwilioWhatsAppSender, fake_twilio: FakeTwilio
    ) -> None:
        result = await sender.send(text())

        [request] = fake_twilio.posts()
        form = request["form"]
        assert form["From"] == f"whatsapp:{WHATSAPP_NUMBER}"
        assert form["To"] == f"whatsapp:{TO}"
        assert form["Body"] == "Hello Camille"
        assert form["StatusCallback"] == (
            f"{PUBLIC_BASE_URL}/api/v1/webhooks/twilio/status?delivery_id=7"
        )
        assert "ContentSid" not in form
        assert "ContentVariables" not in form
        assert result.provider_message_id == fake_twilio.messages[0].sid
        assert result.provider_message_id.startswith("SM")
        assert result.provider_status == "queued"
        assert result.cost is None  # Twilio reports the price later, by callback

    async def test_template_sends_content_sid_and_json_variables_without_a_body(
        self, sender: TwilioWhatsAppSender, fake_twilio: FakeTwilio
    ) -> None:
        await sender.send(template())

        [request] = fake_twilio.posts()
        form = request["form"]
        assert form["ContentSid"] == "HX" + "a" * 32
        assert json.loads(form["ContentVariables"]) == {"1": "Camille", "2": "Salon Paris"}
        assert "Body" not in form
        assert form["StatusCallback"].endswith("?delivery_id=8")


ERRORS = [
    # (HTTP status, Twilio code, expected code, transient, suppress, words in the sentence)
    (400, 21211, "21211", False, False, "not a valid mobile number"),
    (400, 21408, "21408", False, False, "country"),
    (400, 63016, "63016", False, False, "approved template"),
    (400, 63014, "63014", False, False, "blocked"),
    (400, 21610, "21610", False, True, "STOP"),
    (400, 21999, "21999", False, False, "error 21999"),
    (429, 20429, "20429", True, False, "retried"),
    (429, 63018, "63018", True, False, "rate limit"),
    (500, None, "http-500", True, False, "HTTP 500"),
    (503, None, "http-503", True, False, "HTTP 503"),
]


class TestClassification:
    @pytest.mark.parametrize(
        ("status", "code", "expected_code", "transient", "suppress", "words"), ERRORS
    )
    async def test_provider_errors_are_classified(
        self,
        sender: TwilioWhatsAppSender,
        fake_twilio: FakeTwilio,
        status: int,
        code: int | None,
        expected_code: str,
        transient: bool,
        suppress: bool,
        words: str,
    ) -> None:
        fake_twilio.answer(TO, Rule(status=status, code=code, message="nope"))

        with pytest.raises(SendFailure) as caught:
            await sender.send(text())

        failure = caught.value
        assert failure.code == expected_code
        assert failure.transient is transient
        assert failure.suppress is suppress
        assert words in failure.message
        assert failure.message.endswith(".")

    async def test_429_carries_retry_after(
        self, sender: TwilioWhatsAppSender, fake_twilio: FakeTwilio
    ) -> None:
        fake_twilio.answer(
            TO, Rule(status=429, code=20429, message="Too many", headers={"Retry-After": "7"})
        )

        with pytest.raises(SendFailure) as caught:
            await sender.send(text())

        assert caught.value.retry_after == 7.0

    async def test_a_5xx_is_not_retried_by_the_sdk(
        self, sender: TwilioWhatsAppSender, fake_twilio: FakeTwilio
    ) -> None:
        # A retried POST could send the message twice: the engine decides, after find_sent.
        fake_twilio.answer(TO, Rule(status=500))

        with pytest.raises(SendFailure):
            await sender.send(text())

        assert len(fake_twilio.posts()) == 1

    async def test_a_slow_answer_is_a_transient_timeout(self, fake_twilio: FakeTwilio) -> None:
        fake_twilio.answer(TO, Rule(status=201, delay=1.5))
        settings = channel_settings(twilio_api_base_url=fake_twilio.base_url)
        sender = TwilioWhatsAppSender(settings, timeout=0.3)
        try:
            with pytest.raises(SendFailure) as caught:
                await sender.send(text())
        finally:
            await sender.aclose()

        assert caught.value.code == "timeout"
        assert caught.value.transient is True

    async def test_no_server_is_a_transient_network_failure(self) -> None:
        settings = channel_settings(twilio_api_base_url=f"http://127.0.0.1:{free_port()}")
        sender = TwilioWhatsAppSender(settings, timeout=2)
        try:
            with pytest.raises(SendFailure) as caught:
                await sender.send(text())
        finally:
            await sender.aclose()

        assert caught.value.code == "network"
        assert caught.value.transient is True


class TestFindSent:
    async def test_finds_the_message_already_sent_for_this_delivery(
        self, sender: TwilioWhatsAppSender, fake_twilio: FakeTwilio
    ) -> None:
        since = datetime.now(UTC)
        sent = await sender.send(text())

        found = await sender.find_sent(text(), since)

        assert found is not None
        assert found.provider_message_id == sent.provider_message_id
        [listing] = [r for r in fake_twilio.requests if r["method"] == "GET"]
        assert listing["query"]["To"] == f"whatsapp:{TO}"
        assert listing["query"]["From"] == f"whatsapp:{WHATSAPP_NUMBER}"

    async def test_nothing_found_when_it_was_never_sent(
        self, sender: TwilioWhatsAppSender, fake_twilio: FakeTwilio
    ) -> None:
        await sender.send(text(to="+33700000001"))  # another customer
        await sender.send(text(body="An older campaign's text"))  # another message

        assert await sender.find_sent(text(), datetime.now(UTC) - timedelta(minutes=1)) is None

    async def test_messages_from_before_the_attempt_are_not_matched(
        self, sender: TwilioWhatsAppSender, fake_twilio: FakeTwilio
    ) -> None:
        await sender.send(text())

        assert await sender.find_sent(text(), datetime.now(UTC) + timedelta(hours=1)) is None

    async def test_a_template_message_is_found_by_number_and_time(
        self, sender: TwilioWhatsAppSender, fake_twilio: FakeTwilio
    ) -> None:
        since = datetime.now(UTC)
        sent = await sender.send(template())

        found = await sender.find_sent(template(), since)

        assert found is not None
        assert found.provider_message_id == sent.provider_message_id


class TestTemplateErrorsInOwnerWords:
    @pytest.mark.parametrize(
        ("code", "says", "stops"),
        [
            (63016, "Outside WhatsApp's 24-hour window: free text only reaches", False),
            (63024, "WhatsApp refused this recipient", False),
            (63027, "WhatsApp does not have this template in the language it was sent in", True),
            (63028, "The template's placeholders do not match what WhatsApp approved", True),
            (63041, "Meta paused this template because customers blocked or reported it", True),
            (63042, "Meta disabled this template after repeated low quality", True),
            (63049, "WhatsApp chose not to deliver this marketing message", False),
            (63112, "Meta disabled the WhatsApp Business Account of this sender", True),
        ],
    )
    async def test_a_refused_template_says_why_and_whether_the_rest_can_go(
        self,
        sender: TwilioWhatsAppSender,
        fake_twilio: FakeTwilio,
        code: int,
        says: str,
        stops: bool,
    ) -> None:
        fake_twilio.answer(TO, Rule(status=400, code=code, message="Twilio's own words"))
        with pytest.raises(SendFailure) as raised:
            await sender.send(template())

        failure = raised.value
        assert (failure.code, failure.transient, failure.stops_sending) == (str(code), False, stops)
        assert failure.message.startswith(says)
        if stops:
            assert failure.message.endswith("The campaign's other WhatsApp messages were not sent.")
