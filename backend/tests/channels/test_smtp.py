from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import uvloop

from rebook.channels.backends import email_sender
from rebook.channels.base import OutgoingEmail, SendFailure
from rebook.channels.mime import delivery_id_of
from rebook.channels.smtp import SmtpEmailSender
from tests.fakes.net import RecordingProxy, free_port
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


def one_connection_sender(port: int) -> SmtpEmailSender:
    settings = channel_settings(smtp_host="127.0.0.1", smtp_port=port)
    return SmtpEmailSender(settings.model_copy(update={"smtp_connections": 1}))


async def send_around_a_failure(sender: SmtpEmailSender, to: str) -> SendFailure:
    """Sends messages 1 and 3 around message 2 to `to`, which must fail, then closes the
    sender; returns message 2's failure."""
    try:
        await sender.send(email(delivery_id=1))
        with pytest.raises(SendFailure) as caught:
            await sender.send(email(delivery_id=2, to=to))
        await sender.send(email(delivery_id=3))
    finally:
        await sender.aclose()
    return caught.value


@pytest.fixture(params=["pipelining", "one command at a time"])
def smtp_sink(request: pytest.FixtureRequest) -> Iterator[SmtpSink]:
    """Every test here runs against a relay that offers PIPELINING and one that does not."""
    sink = SmtpSink(pipelining=request.param == "pipelining").start()
    yield sink
    sink.stop()


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
        assert delivery_id_of(message["Message-ID"]) == 41
        assert message["Message-ID"].endswith("@rebook.test>")
        assert result.provider_message_id == message["Message-ID"]
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
        sender = one_connection_sender(smtp_sink.port)
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
        sender = one_connection_sender(smtp_sink.port)
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
        assert caught.value.maybe_delivered is False  # nothing reached a server

    async def test_a_connection_lost_after_the_content_says_the_relay_may_have_it(
        self, smtp_sink: SmtpSink
    ) -> None:
        sender = one_connection_sender(smtp_sink.port)
        smtp_sink.handler.drop_after_content.add("lost@example.com")

        failure = await send_around_a_failure(sender, "lost@example.com")

        assert (failure.code, failure.transient) == ("network", True)
        assert failure.maybe_delivered is True
        assert [delivery_id_of(r.message["Message-ID"]) for r in smtp_sink.received] == [1, 2, 3]
        assert sender.connections_opened == 2


class TestConnections:
    async def test_connections_are_reused_across_messages(self, smtp_sink: SmtpSink) -> None:
        sender = one_connection_sender(smtp_sink.port)
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
        assert sorted(
            delivery_id_of(r.message["Message-ID"]) for r in smtp_sink.received
        ) == sorted(200 + n for n in range(12))
        assert 1 <= smtp_sink.handler.connections <= 2

    async def test_messages_go_on_uvloop_the_loop_workers_run_on(self, smtp_sink: SmtpSink) -> None:
        """uvloop's transports keep the protocol's methods from when it was set: a protocol
        switched to pipelining behind its back would lose replies, and sends would hang."""

        async def six_at_once() -> None:
            sender = one_connection_sender(smtp_sink.port)
            try:
                sends = (sender.send(email(delivery_id=300 + n)) for n in range(6))
                await asyncio.wait_for(asyncio.gather(*sends), timeout=10)
            finally:
                await sender.aclose()

        await asyncio.to_thread(uvloop.run, six_at_once())

        assert sorted(delivery_id_of(r.message["Message-ID"]) for r in smtp_sink.received) == [
            300 + n for n in range(6)
        ]

    async def test_a_dropped_connection_is_reopened(self, smtp_sink: SmtpSink) -> None:
        sender = one_connection_sender(smtp_sink.port)
        try:
            await sender.send(email(delivery_id=300))
            smtp_sink.restart()  # the open connection dies with the old server
            await sender.send(email(delivery_id=301))
        finally:
            await sender.aclose()

        assert [delivery_id_of(r.message["Message-ID"]) for r in smtp_sink.received] == [
            300,
            301,
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
        sender = one_connection_sender(sink.port)
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


def commands_in(write: bytes) -> list[bytes]:
    return [line.split(b" ")[0].split(b":")[0] for line in write.split(b"\r\n") if line]


class TestPipelining:
    async def test_the_envelope_goes_in_one_write_when_the_relay_offers_pipelining(
        self, smtp_sink: SmtpSink
    ) -> None:
        proxy = await RecordingProxy(smtp_sink.port).start()
        sender = one_connection_sender(proxy.port)
        try:
            await sender.send(email(delivery_id=1))
            await sender.send(email(delivery_id=2))
        finally:
            await sender.aclose()
            await proxy.stop()

        envelopes = [commands_in(w) for w in proxy.client_writes if w.startswith(b"MAIL")]
        if smtp_sink.handler.pipelining:
            assert envelopes == [[b"MAIL", b"RCPT", b"DATA"]] * 2
        else:
            assert envelopes == [[b"MAIL"]] * 2
        assert [delivery_id_of(r.message["Message-ID"]) for r in smtp_sink.received] == [
            1,
            2,
        ]

    async def test_a_stream_of_messages_sends_each_content_with_the_next_envelope(
        self, smtp_sink: SmtpSink
    ) -> None:
        proxy = await RecordingProxy(smtp_sink.port).start()
        sender = one_connection_sender(proxy.port)
        try:
            await asyncio.gather(*(sender.send(email(delivery_id=n)) for n in (1, 2, 3)))
        finally:
            await sender.aclose()
            await proxy.stop()

        envelopes = [w for w in proxy.client_writes if b"MAIL FROM" in w]
        content_then_envelope = [w for w in envelopes if b"\r\n.\r\nMAIL FROM" in w]
        assert len(envelopes) == 3
        if smtp_sink.handler.pipelining:
            assert len(content_then_envelope) == 2  # one write per message after the first
        else:
            assert content_then_envelope == []
        assert [delivery_id_of(r.message["Message-ID"]) for r in smtp_sink.received] == [1, 2, 3]

    async def test_a_refusal_in_a_stream_fails_only_its_own_message(
        self, smtp_sink: SmtpSink
    ) -> None:
        smtp_sink.refuse("gone@example.com", "550 5.1.1 No such user here")
        sender = one_connection_sender(smtp_sink.port)
        addresses = {3: "gone@example.com"}
        emails = [email(n, to=addresses.get(n, "camille@example.com")) for n in range(1, 7)]
        try:
            results = await asyncio.gather(*map(sender.send, emails), return_exceptions=True)
        finally:
            await sender.aclose()

        outcomes = [r.code if isinstance(r, SendFailure) else "sent" for r in results]
        assert outcomes == ["sent", "sent", "smtp-550", "sent", "sent", "sent"]
        assert [delivery_id_of(r.message["Message-ID"]) for r in smtp_sink.received] == [
            1,
            2,
            4,
            5,
            6,
        ]
        assert sender.connections_opened == 1

    async def test_replies_split_into_single_bytes_are_read_whole(
        self, smtp_sink: SmtpSink
    ) -> None:
        smtp_sink.refuse("gone@example.com", "550 5.1.1 No such user here")
        proxy = await RecordingProxy(smtp_sink.port, replies_bytewise=True).start()
        sender = one_connection_sender(proxy.port)
        try:
            failure = await send_around_a_failure(sender, "gone@example.com")
        finally:
            await proxy.stop()

        assert failure.code == "smtp-550"
        assert [delivery_id_of(r.message["Message-ID"]) for r in smtp_sink.received] == [
            1,
            3,
        ]
        assert sender.connections_opened == 1

    async def test_a_line_starting_with_a_dot_arrives_intact(
        self, sender: SmtpEmailSender, smtp_sink: SmtpSink
    ) -> None:
        await sender.send(email(text="Prices:\n.50 off today\n.\nSee you"))

        text = smtp_sink.received[0].message.get_body(("plain",))
        assert text is not None
        lines = text.get_content().splitlines()
        assert lines[:4] == ["Prices:", ".50 off today", ".", "See you"]

    async def test_a_relay_that_opens_data_without_a_recipient_gets_an_empty_message(
        self,
    ) -> None:
        """RFC 2920 §3.1: the client ends that DATA at once, and the send fails with the
        recipient's refusal."""
        relay = ScriptedRelay(
            {b"RCPT": b"550 5.1.1 No such user", b"DATA": b"354 Go ahead"},
            content_reply=b"554 5.5.1 No valid recipients",
        )
        port = await relay.start()
        sender = one_connection_sender(port)
        try:
            with pytest.raises(SendFailure) as caught:
                await sender.send(email(to="gone@example.com"))
        finally:
            await sender.aclose()
            await relay.stop()

        assert (caught.value.code, caught.value.transient) == ("smtp-550", False)
        assert relay.messages == [b""]
        assert relay.commands[-2:] == [b"RSET", b"QUIT"]


async def test_a_relay_that_limits_messages_per_connection_gets_a_fresh_one() -> None:
    """Its 421 to MAIL FROM closes the connection; the message goes on a new one at once."""
    relay = ScriptedRelay({}, messages_per_connection=2)
    port = await relay.start()
    sender = one_connection_sender(port)
    try:
        await asyncio.gather(*(sender.send(email(delivery_id=n)) for n in range(1, 6)))
    finally:
        await sender.aclose()
        await relay.stop()

    assert [
        delivery_id_of(m.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode())
        for m in relay.messages
    ] == list(range(1, 6))
    assert relay.connections == sender.connections_opened == 3


class ScriptedRelay:
    """A relay that offers PIPELINING and answers each command as scripted (250 by
    default; 354 to DATA, then `content_reply`); it keeps the commands it got and the body
    of every message. With `messages_per_connection`, the MAIL FROM after that many gets
    421 and the connection is closed."""

    def __init__(
        self,
        replies: dict[bytes, bytes],
        *,
        content_reply: bytes = b"250 2.0.0 Queued",
        messages_per_connection: int | None = None,
    ) -> None:
        self.replies = {b"DATA": b"354 Go ahead", **replies}
        self.content_reply = content_reply
        self.messages_per_connection = messages_per_connection
        self.commands: list[bytes] = []
        self.messages: list[bytes] = []
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        taken = 0
        writer.write(b"220 relay ready\r\n")
        while line := await reader.readline():
            command = line.split(b" ")[0].strip().upper()
            self.commands.append(command)
            if command == b"EHLO":
                writer.write(b"250-relay\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n")
            elif command == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            elif command == b"MAIL" and taken == self.messages_per_connection:
                writer.write(b"421 4.7.0 Too many messages on this connection\r\n")
                break
            else:
                reply = self.replies.get(command, b"250 OK")
                writer.write(reply + b"\r\n")
                if command == b"DATA" and reply.startswith(b"354"):
                    body = b""
                    while (data_line := await reader.readline()) != b".\r\n":
                        body += data_line
                    self.messages.append(body)
                    taken += 1
                    writer.write(self.content_reply + b"\r\n")
            await writer.drain()
        await writer.drain()
        writer.close()
