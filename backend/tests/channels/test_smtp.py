from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rebook.channels.base import OutgoingEmail, SendFailure, email_sender
from rebook.channels.smtp import SmtpEmailSender
from tests.fakes.net import free_port
from tests.fakes.smtp import SmtpSink
from tests.fixtures_channels import channel_settings

UNSUBSCRIBE_URL = "https://rebook.example/unsubscribe/abc.def"


def email(delivery_id: int = 41, to: str = "camille@example.com", **kw: str) -> OutgoingEmail:
    values = {
        "subject": "We miss you, Camille",
        "html": "<html><body><p>Hello <b>Camille</b>, come back soon.</p></body></html>",
        "text": "Hello Camille, come back soon.",
        "unsubscribe_url": UNSUBSCRIBE_URL,
        **kw,
    }
    return OutgoingEmail(delivery_id=delivery_id, owner_id=7, to=to, **values)  # type: ignore[arg-type]


@pytest.fixture
async def sender(smtp_sink: SmtpSink) -> AsyncIterator[SmtpEmailSender]:
    settings = channel_settings(
        email_backend="smtp", smtp_host="127.0.0.1", smtp_port=smtp_sink.port, smtp_connections=2
    )
    chosen = email_sender(settings)
    assert isinstance(chosen, SmtpEmailSender)
    yield chosen
    await chosen.aclose()


class TestMessage:
    async def test_headers_identify_the_delivery_and_offer_one_click_unsubscribe(
        self, sender: SmtpEmailSender, smtp_sink: SmtpSink
    ) -> None:
        result = await sender.send(email(from_name="Salon Paris"))

        assert len(smtp_sink.received) == 1
        received = smtp_sink.received[0]
        assert received.mail_from == "no-reply@rebook.test"
        assert received.rcpt_tos == ["camille@example.com"]
        message = received.message
        assert message["Message-ID"] == "<delivery-41@rebook.test>"
        assert result.provider_message_id == "<delivery-41@rebook.test>"
        assert result.provider_status == "sent"
        assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE_URL}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["From"] == "Salon Paris <no-reply@rebook.test>"
        assert message["To"] == "camille@example.com"
        assert message["Subject"] == "We miss you, Camille"

    async def test_text_and_html_parts_both_carry_the_unsubscribe_link(
        self, sender: SmtpEmailSender, smtp_sink: SmtpSink
    ) -> None:
        await sender.send(email())

        message = smtp_sink.received[0].message
        assert message.get_content_type() == "multipart/alternative"
        parts = list(message.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
        text, html = (p.get_content() for p in parts)
        assert "Hello Camille, come back soon." in text
        assert UNSUBSCRIBE_URL in text
        assert "<b>Camille</b>" in html
        assert f'<a href="{UNSUBSCRIBE_URL}">Unsubscribe</a>' in html
        # The footer goes inside the body, before it closes.
        assert html.index("Unsubscribe") < html.index("</body>")

    async def test_link_already_in_the_content_is_not_added_twice(
        self, sender: SmtpEmailSender, smtp_sink: SmtpSink
    ) -> None:
        await sender.send(
            email(
                text=f"Hi. Unsubscribe: {UNSUBSCRIBE_URL}",
                html=f'<p>Hi. <a href="{UNSUBSCRIBE_URL}">Stop</a></p>',
            )
        )

        text, html = (p.get_content() for p in smtp_sink.received[0].message.iter_parts())
        assert text.count(UNSUBSCRIBE_URL) == 1
        assert html.count(UNSUBSCRIBE_URL) == 1

    async def test_without_a_place_name_the_sender_name_is_email_from(
        self, sender: SmtpEmailSender, smtp_sink: SmtpSink
    ) -> None:
        await sender.send(email())

        assert smtp_sink.received[0].message["From"] == "Rebook <no-reply@rebook.test>"


class TestRefusals:
    async def test_5xx_is_a_permanent_failure_with_the_code_and_a_sentence(
        self, sender: SmtpEmailSender, smtp_sink: SmtpSink
    ) -> None:
        smtp_sink.refuse("gone@example.com", "550 5.1.1 No such user here")

        with pytest.raises(SendFailure) as caught:
            await sender.send(email(to="gone@example.com"))

        failure = caught.value
        assert failure.code == "smtp-550"
        assert failure.transient is False
        assert failure.suppress is False
        assert failure.message == "The recipient's mail server refused this address (550)."
        assert smtp_sink.received == []

    async def test_4xx_is_transient(self, sender: SmtpEmailSender, smtp_sink: SmtpSink) -> None:
        smtp_sink.refuse("busy@example.com", "451 4.3.0 Try again later")

        with pytest.raises(SendFailure) as caught:
            await sender.send(email(to="busy@example.com"))

        assert caught.value.code == "smtp-451"
        assert caught.value.transient is True

    async def test_a_refusal_leaves_the_connection_usable(self, smtp_sink: SmtpSink) -> None:
        settings = channel_settings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
        sender = SmtpEmailSender(settings.model_copy(update={"smtp_connections": 1}))
        smtp_sink.refuse("gone@example.com", "550 5.1.1 No such user here")
        try:
            with pytest.raises(SendFailure):
                await sender.send(email(to="gone@example.com"))
            await sender.send(email(delivery_id=42))
        finally:
            await sender.aclose()

        assert [r.rcpt_tos for r in smtp_sink.received] == [["camille@example.com"]]
        assert smtp_sink.handler.connections == 1

    async def test_a_refused_sender_fails_for_good_and_leaves_the_connection_usable(
        self, smtp_sink: SmtpSink
    ) -> None:
        settings = channel_settings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
        sender = SmtpEmailSender(settings.model_copy(update={"smtp_connections": 1}))
        smtp_sink.handler.sender_refusal = "553 5.7.1 Sender address rejected"
        try:
            with pytest.raises(SendFailure) as caught:
                await sender.send(email())
            smtp_sink.handler.sender_refusal = ""
            await sender.send(email(delivery_id=42))
        finally:
            await sender.aclose()

        assert (caught.value.code, caught.value.transient) == ("smtp-553", False)
        assert [r.rcpt_tos for r in smtp_sink.received] == [["camille@example.com"]]
        assert smtp_sink.handler.connections == 1

    def test_an_email_from_that_is_not_a_plain_address_stops_the_sender_at_start(
        self,
    ) -> None:
        settings = channel_settings(email_from="Rebook <no reply@rebook.test>")
        with pytest.raises(ValueError, match="EMAIL_FROM"):
            SmtpEmailSender(settings)

    async def test_unreachable_server_is_a_transient_network_failure(self) -> None:
        settings = channel_settings(smtp_host="127.0.0.1", smtp_port=free_port())
        sender = SmtpEmailSender(settings)
        try:
            with pytest.raises(SendFailure) as caught:
                await sender.send(email())
        finally:
            await sender.aclose()

        assert caught.value.code == "network"
        assert caught.value.transient is True


class TestConnections:
    async def test_connections_are_reused_across_messages(self, smtp_sink: SmtpSink) -> None:
        settings = channel_settings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
        sender = SmtpEmailSender(settings.model_copy(update={"smtp_connections": 1}))
        try:
            for n in range(5):
                await sender.send(email(delivery_id=100 + n))
        finally:
            await sender.aclose()

        assert len(smtp_sink.received) == 5
        assert smtp_sink.handler.connections == 1

    async def test_concurrent_sends_share_at_most_the_configured_connections(
        self, sender: SmtpEmailSender, smtp_sink: SmtpSink
    ) -> None:
        await asyncio.gather(*(sender.send(email(delivery_id=200 + n)) for n in range(12)))

        assert len(smtp_sink.received) == 12
        assert sorted(r.message["Message-ID"] for r in smtp_sink.received) == sorted(
            f"<delivery-{200 + n}@rebook.test>" for n in range(12)
        )
        assert 1 <= smtp_sink.handler.connections <= 2

    async def test_a_dropped_connection_is_reopened(self, smtp_sink: SmtpSink) -> None:
        settings = channel_settings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
        sender = SmtpEmailSender(settings.model_copy(update={"smtp_connections": 1}))
        try:
            await sender.send(email(delivery_id=300))
            smtp_sink.restart()  # the open connection dies with the old server
            await sender.send(email(delivery_id=301))
        finally:
            await sender.aclose()

        assert [r.message["Message-ID"] for r in smtp_sink.received] == [
            "<delivery-300@rebook.test>",
            "<delivery-301@rebook.test>",
        ]
        assert sender.connections_opened == 2


class TestInvalidMessage:
    async def test_a_line_break_in_the_subject_is_refused_before_sending(
        self, sender: SmtpEmailSender, smtp_sink: SmtpSink
    ) -> None:
        with pytest.raises(SendFailure) as caught:
            await sender.send(email(subject="Hello\r\nBcc: everyone@example.com"))

        assert caught.value.code == "invalid-message"
        assert caught.value.transient is False
        assert smtp_sink.received == []


class TestInternationalAddresses:
    async def test_an_accented_address_goes_with_smtputf8(
        self, sender: SmtpEmailSender, smtp_sink: SmtpSink
    ) -> None:
        await sender.send(email(to="zoé@exemple.fr", subject="Zoé, à bientôt"))

        received = smtp_sink.received[0]
        assert received.rcpt_tos == ["zoé@exemple.fr"]
        assert received.message["To"] == "zoé@exemple.fr"
        assert received.message["Subject"] == "Zoé, à bientôt"

    async def test_a_server_without_smtputf8_fails_it_for_good_and_stays_usable(self) -> None:
        sink = SmtpSink(smtputf8=False).start()
        settings = channel_settings(smtp_host="127.0.0.1", smtp_port=sink.port)
        sender = SmtpEmailSender(settings.model_copy(update={"smtp_connections": 1}))
        try:
            with pytest.raises(SendFailure) as caught:
                await sender.send(email(to="zoé@exemple.fr"))
            await sender.send(email(delivery_id=42))
        finally:
            await sender.aclose()
            sink.stop()

        assert caught.value.code == "smtp-no-utf8"
        assert caught.value.transient is False
        assert "accented" in caught.value.message
        assert [r.rcpt_tos for r in sink.received] == [["camille@example.com"]]
        assert sink.handler.connections == 1
