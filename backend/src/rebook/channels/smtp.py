"""The `smtp` backend: `aiosmtplib` over a small pool of reused connections.

Throughput comes from several connections side by side (`SMTP_CONNECTIONS`), each opened on
first use and reopened after a failure, and from pipelining (`smtp_pipelining.py`) where the
relay offers it."""

from __future__ import annotations

import asyncio
import html
import logging
import time
from contextlib import suppress
from email.utils import parseaddr
from functools import lru_cache

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from rebook.channels.base import OutgoingEmail, SendFailure, SendResult, mask
from rebook.channels.errors import NETWORK_MESSAGE, TIMEOUT_MESSAGE, smtp_error_message
from rebook.channels.mime import EmailBytes, email_bytes, is_plain_address
from rebook.channels.smtp_pipelining import PipeliningSMTP
from rebook.config import Settings

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30.0


def with_text_footer(text: str, unsubscribe_url: str) -> str:
    """The text part, with an unsubscribe line unless the link is already in it."""
    if unsubscribe_url in text:
        return text
    return (
        f"{text.rstrip()}\n\n--\nTo stop receiving these emails, unsubscribe: {unsubscribe_url}\n"
    )


def with_html_footer(body: str, unsubscribe_url: str) -> str:
    """The HTML part, with an unsubscribe link unless the link is already in it."""
    if unsubscribe_url in body or html.escape(unsubscribe_url) in body:
        return body
    footer = (
        '<p style="margin-top:32px;font-size:12px;color:#666">'
        "Don't want these emails? "
        f'<a href="{html.escape(unsubscribe_url)}">Unsubscribe</a></p>'
    )
    closing = body.lower().rfind("</body>")
    if closing == -1:
        return f"{body}\n{footer}"
    return f"{body[:closing]}{footer}\n{body[closing:]}"


@lru_cache(maxsize=8)
def _sender(email_from: str) -> tuple[str, str]:
    """EMAIL_FROM's (name, address), parsed once rather than for every message."""
    return parseaddr(email_from)


def build_message(msg: OutgoingEmail, email_from: str) -> EmailBytes:
    """The MIME message: `multipart/alternative` (text, then HTML, each with the unsubscribe
    footer), a Message-ID derived from the delivery, and RFC 8058 one-click unsubscribe
    headers."""
    default_name, from_address = _sender(email_from)
    return email_bytes(
        msg,
        from_name=msg.from_name or default_name,
        from_address=from_address,
        text=with_text_footer(msg.text, msg.unsubscribe_url),
        html=with_html_footer(msg.html, msg.unsubscribe_url),
    )


# Refusals of one message: the connection stays good (aiosmtplib resets the envelope, or
# refused before starting one).
_ENVELOPE_REFUSALS = (
    aiosmtplib.SMTPNotSupported,
    aiosmtplib.SMTPRecipientsRefused,
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPDataError,
)


def _classify(exc: Exception) -> SendFailure:
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return SendFailure(
            "smtp-no-utf8",
            "The mail server cannot take an address with accented or non-Latin characters.",
            transient=False,
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        code = exc.recipients[0].code if exc.recipients else 550
        return _reply_failure(code)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 400:
        return _reply_failure(exc.code)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return SendFailure("timeout", TIMEOUT_MESSAGE, transient=True)
    return SendFailure("network", NETWORK_MESSAGE, transient=True)


def _reply_failure(code: int) -> SendFailure:
    return SendFailure(f"smtp-{code}", smtp_error_message(code), transient=code < 500)


def _check_mail(reply: SMTPResponse, sender: str) -> None:
    if reply.code != aiosmtplib.SMTPStatus.completed:
        raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, sender)


def _check_rcpt(reply: SMTPResponse, to: str) -> None:
    if reply.code not in (aiosmtplib.SMTPStatus.completed, aiosmtplib.SMTPStatus.will_forward):
        refused = aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, to)
        raise aiosmtplib.SMTPRecipientsRefused([refused])


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA carries it (RFC 5321 §4.5.2): a line that starts with a dot gets
    another. `email_bytes` already ends every line with CRLF."""
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


class SmtpEmailSender:
    """Sends through `SMTP_HOST`; safe to share between concurrent tasks of one event loop."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._from_address = _sender(settings.email_from)[1]
        address = self._from_address
        if not (address.isascii() and is_plain_address(address) and "@" in address):
            raise ValueError(f"EMAIL_FROM needs a plain ASCII sender address, not {address!r}")
        self._mail_from = b"FROM:<%s>" % address.encode()
        self._idle: asyncio.LifoQueue[PipeliningSMTP] = asyncio.LifoQueue()
        for _ in range(settings.smtp_connections):
            self._idle.put_nowait(self._new_client())
        self.connections_opened = 0

    def _new_client(self) -> PipeliningSMTP:
        s = self._settings
        return PipeliningSMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            start_tls=s.smtp_starttls,
            # Port 465 speaks TLS from the first byte (RFC 8314); others upgrade by STARTTLS.
            use_tls=s.smtp_port == 465 and not s.smtp_starttls,
            timeout=SMTP_TIMEOUT_SECONDS,
        )

    async def _connect(self, client: PipeliningSMTP) -> None:
        await client.connect()
        self.connections_opened += 1

    async def _transmit(self, client: PipeliningSMTP, message: EmailBytes, to: str) -> None:
        """One envelope, as `sendmail` would send it for one recipient, without re-parsing
        both addresses four times per message (a tenth of the worker's CPU at full speed):
        the sender is checked once, and `email_bytes` refused a recipient address that is
        not plain. Pipelined (RFC 2920) when the relay offers it."""
        if client.is_ehlo_or_helo_needed:
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        options = [b"SIZE=%d" % len(message.data)] if client.supports_extension("size") else []
        encoding = "ascii"
        if message.needs_smtputf8:
            if not client.supports_extension("smtputf8"):
                raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
            options.append(b"SMTPUTF8")
            encoding = "utf-8"
        mail = b" ".join([b"MAIL", self._mail_from, *options])
        rcpt = b"RCPT TO:<%s>" % to.encode(encoding)
        try:
            if client.supports_extension("pipelining"):
                await self._pipelined(client, mail, rcpt, message.data, to)
            else:
                _check_mail(await client.execute_command(mail), self._from_address)
                _check_rcpt(await client.execute_command(rcpt), to)
                await client.data(message.data)
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
            # Leave the connection ready for the next message, as `sendmail` does.
            with suppress(ConnectionError, aiosmtplib.SMTPResponseException):
                await client.rset()
            raise

    async def _pipelined(
        self, client: PipeliningSMTP, mail: bytes, rcpt: bytes, data: bytes, to: str
    ) -> None:
        """MAIL, RCPT and DATA in one write; then, after 354, the message in another."""
        mail_reply, rcpt_reply, data_reply = await client.pipeline(
            b"%s\r\n%s\r\nDATA\r\n" % (mail, rcpt), 3
        )
        try:
            _check_mail(mail_reply, self._from_address)
            _check_rcpt(rcpt_reply, to)
        except aiosmtplib.SMTPException:
            if data_reply.code == aiosmtplib.SMTPStatus.start_input:
                # A relay that opened DATA without a recipient gets an empty message, which
                # it must not deliver (RFC 2920 §3.1); its reply does not matter.
                await client.pipeline(b".\r\n", 1)
            raise
        if data_reply.code != aiosmtplib.SMTPStatus.start_input:
            raise aiosmtplib.SMTPDataError(data_reply.code, data_reply.message)
        (reply,) = await client.pipeline(_dot_stuffed(data) + b".\r\n", 1)
        if reply.code != aiosmtplib.SMTPStatus.completed:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)

    async def send(self, msg: OutgoingEmail) -> SendResult:
        try:
            message = build_message(msg, self._settings.email_from)
        except ValueError as exc:  # e.g. a line break in the subject: header injection
            raise SendFailure(
                "invalid-message",
                "This email could not be built: its subject or address has characters email "
                "does not allow.",
                transient=False,
            ) from exc
        client = await self._idle.get()
        started = time.monotonic()
        try:
            reused = client.is_connected
            try:
                if not reused:
                    await self._connect(client)
                await self._transmit(client, message, msg.to)
            except aiosmtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # The server closed an idle connection: open a fresh one and try once more.
                client.close()
                await self._connect(client)
                await self._transmit(client, message, msg.to)
        except Exception as exc:
            failure = _classify(exc)
            if not isinstance(exc, _ENVELOPE_REFUSALS):
                client.close()  # reopened on next use; after a refusal, aiosmtplib sent RSET
            logger.warning(
                "email refused",
                extra={
                    "delivery_id": msg.delivery_id,
                    "to": mask(msg.to),
                    "code": failure.code,
                    "transient": failure.transient,
                },
            )
            raise failure from exc
        finally:
            self._idle.put_nowait(client)
        message_id = message.message_id
        # The engine logs each delivery's outcome; this is the transport's detail.
        logger.debug(
            "email sent",
            extra={
                "delivery_id": msg.delivery_id,
                "to": mask(msg.to),
                "provider_message_id": message_id,
                "seconds": round(time.monotonic() - started, 4),
            },
        )
        return SendResult(provider_message_id=message_id, provider_status="sent")

    async def aclose(self) -> None:
        clients: list[PipeliningSMTP] = []
        while not self._idle.empty():
            clients.append(self._idle.get_nowait())
        for client in clients:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
            self._idle.put_nowait(client)
