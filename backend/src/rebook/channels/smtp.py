"""The `smtp` backend: `aiosmtplib` over a small pool of reused connections.

Throughput comes from several connections side by side (`SMTP_CONNECTIONS`), each opened on
first use and reopened after a failure, and from pipelining (`smtp_pipelining.py`) where the
relay offers it."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from rebook.channels import verp
from rebook.channels.base import OutgoingEmail, SendFailure, SendResult, TooLate, mask
from rebook.channels.errors import NETWORK_MESSAGE, TIMEOUT_MESSAGE, smtp_error_message
from rebook.channels.mime import EmailBytes, SenderIdentity, build_message, is_plain_address
from rebook.channels.smtp_pipelining import PipelineInterrupted, PipeliningSMTP
from rebook.config import Settings

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30.0


# Refusals of one message: the connection stays good (`_reset` sent RSET, or the refusal came
# before an envelope was started).
_ENVELOPE_REFUSALS = (
    aiosmtplib.SMTPNotSupported,
    aiosmtplib.SMTPRecipientsRefused,
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPDataError,
)


class _Unanswered(Exception):
    """The message's content went out and the connection failed before the relay's reply:
    the relay may have it. Wraps the failure (its cause)."""


def _classify(exc: BaseException) -> SendFailure:
    if isinstance(exc, _Unanswered) and exc.__cause__ is not None:
        failure = _classify(exc.__cause__)
        failure.maybe_delivered = True
        return failure
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return SendFailure(
            "smtp-no-utf8",
            "The mail server cannot take an address with accented or non-Latin characters.",
            transient=False,
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = exc.recipients[0] if exc.recipients else None
        code = refused.code if refused else 550
        message = refused.message if refused else ""
        dead = code >= 500 and _names_dead_address(message, unqualified=True)
        return _reply_failure(code, message if dead else None)
    if isinstance(exc, aiosmtplib.SMTPDataError) and exc.code >= 500:
        dead = _names_dead_address(exc.message, unqualified=False)
        return _reply_failure(exc.code, exc.message if dead else None)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 400:
        return _reply_failure(exc.code)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return SendFailure("timeout", TIMEOUT_MESSAGE, transient=True)
    return SendFailure("network", NETWORK_MESSAGE, transient=True)


_ENHANCED_STATUS = re.compile(r"^\s*5\.(\d{1,3})\.(\d{1,3})\b")


def _names_dead_address(message: str, *, unqualified: bool) -> bool:
    """A permanent refusal is a hard bounce (the address is dead) when its enhanced status
    (RFC 3463) is about the address: 5.1.x (no such mailbox, domain) or 5.2.1 (mailbox
    disabled). 5.2.2 (mailbox full), 5.7.x (policy, reputation) and the rest refuse this
    message, not the address. Without an enhanced status: `unqualified` decides (at RCPT a
    refusal is about the recipient; at DATA it is about the content)."""
    found = _ENHANCED_STATUS.match(message)
    if found is None:
        return unqualified
    subject, detail = found.groups()
    return subject == "1" or (subject, detail) == ("2", "1")


def _reply_failure(code: int, hard_bounce: str | None = None) -> SendFailure:
    failure = SendFailure(f"smtp-{code}", smtp_error_message(code), transient=code < 500)
    if hard_bounce is not None:
        failure.hard_bounce = f"{code} {hard_bounce}".strip()[:300]
    return failure


class _RelayClosing(aiosmtplib.SMTPResponseException):
    """421 to MAIL FROM: the relay is closing this connection (it has taken enough messages
    on it, or is shutting down) and took nothing of this message."""


def _check_mail(reply: SMTPResponse, sender: str) -> None:
    if reply.code == aiosmtplib.SMTPStatus.domain_unavailable:
        raise _RelayClosing(reply.code, reply.message)
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


@dataclass(eq=False)
class _Job:
    msg: OutgoingEmail
    message: EmailBytes
    mail_from: bytes  # `FROM:<return path>`: the delivery's own (VERP), for its bounces
    # Resolved by the connection's lane: None when the relay took the message, or the
    # exception that says why not. Cancelled by the sender that stopped waiting.
    done: asyncio.Future[None]
    # Not written after this (its send slot): queued behind a busy connection, it would
    # reach the relay together with the messages after it.
    not_after: datetime | None = None

    def waits(self) -> bool:
        """Its sender still waits for it, and it is not too late to send it."""
        if self.done.done():
            return False
        if self.not_after is not None and datetime.now(UTC) > self.not_after:
            self.done.set_exception(TooLate())
            return False
        return True


_CLOSE = None  # queued once per lane by `aclose`


@dataclass(eq=False)
class _Group:
    """What a connection's pipelined group carries: the content of the message whose DATA
    is open, and the next message's envelope. Chained groups (`_chain`) move both along, so
    the lane reads them back after each exchange."""

    opened: _Job | None = None
    job: _Job | None = None
    content_sent: bool = False  # the group being answered carries a message's content
    fresh: bool = False  # ...and is the first on its connection


class SmtpEmailSender:
    """Sends through `SMTP_HOST`; safe to share between concurrent tasks of one event loop.

    Each connection is a lane: a task that takes the next queued message and sends it. When
    the relay offers PIPELINING, a message's content and the next message's envelope go in
    one write (RFC 2920 lets the content open a group), so a steady stream costs one round
    trip per message; a lone message is sent as soon as its DATA is open. While every reply
    is the expected one, each group is written from the callback that read the last one's
    replies (`_chain`): a busy worker loop would otherwise keep the relay waiting for the
    lane's task to be scheduled."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._identity = SenderIdentity.from_settings(settings)
        self._from_address = self._identity.address
        address = self._from_address
        if not (address.isascii() and is_plain_address(address) and "@" in address):
            raise ValueError(f"EMAIL_FROM needs a plain ASCII sender address, not {address!r}")
        self._mail_from = b"FROM:<%s>" % address.encode()
        # Receivers check that the EHLO name is a real host name (a container's is often
        # `localhost`); unset, aiosmtplib asks the system for its fully qualified name.
        self._ehlo_name = settings.smtp_ehlo_name or None
        self._jobs: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._lanes: list[asyncio.Task[None]] = []
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
            local_hostname=self._ehlo_name,
        )

    def _envelope_sender(self, msg: OutgoingEmail) -> bytes:
        return_path = None if msg.is_test else verp.return_path(msg.delivery_id, self._settings)
        return self._mail_from if return_path is None else b"FROM:<%s>" % return_path.encode()

    async def send(self, msg: OutgoingEmail, *, not_after: datetime | None = None) -> SendResult:
        try:
            message = build_message(msg, self._identity)
        except ValueError as exc:  # e.g. a line break in the subject: header injection
            raise SendFailure(
                "invalid-message",
                "This email could not be built: its subject or address has characters email "
                "does not allow.",
                transient=False,
            ) from exc
        self._start_lanes()
        job = _Job(
            msg,
            message,
            self._envelope_sender(msg),
            asyncio.get_running_loop().create_future(),
            not_after,
        )
        started = time.monotonic()
        self._jobs.put_nowait(job)
        try:
            await job.done
        except (aiosmtplib.SMTPException, OSError, TimeoutError, _Unanswered) as exc:
            failure = _classify(exc)
            logger.warning(
                "email refused",
                extra={
                    "delivery_id": msg.delivery_id,
                    "to": mask(msg.to),
                    "code": failure.code,
                    "transient": failure.transient,
                    "maybe_delivered": failure.maybe_delivered,
                },
            )
            raise failure from exc
        # The engine logs each delivery's outcome; this is the transport's detail, off by
        # default: not worth masking an address per message for a line nobody sees.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "email sent",
                extra={
                    "delivery_id": msg.delivery_id,
                    "to": mask(msg.to),
                    "provider_message_id": message.message_id,
                    "seconds": round(time.monotonic() - started, 4),
                },
            )
        return SendResult(provider_message_id=message.message_id, provider_status="sent")

    def _start_lanes(self, connect: bool = False) -> list[asyncio.Future[None]]:
        """Started on first use, in the loop that sends; `connect`: each lane connects at
        once, and says so through the future returned for it."""
        if self._lanes:
            return []
        loop = asyncio.get_running_loop()
        ready: list[asyncio.Future[None]] = [
            loop.create_future() for _ in range(self._settings.smtp_connections)
        ]
        self._lanes = [
            asyncio.create_task(self._lane(self._new_client(), lane if connect else None))
            for lane in ready
        ]
        return ready if connect else []

    async def connect(self) -> None:
        """Open the connections before the first message: otherwise the first messages wait
        for them, and then reach the relay together (a burst above the send rate)."""
        await asyncio.gather(*self._start_lanes(connect=True))

    async def aclose(self) -> None:
        """Lets every lane finish what it holds, then says QUIT."""
        for _ in self._lanes:
            self._jobs.put_nowait(_CLOSE)
        await asyncio.gather(*self._lanes)
        self._lanes = []

    # -- a lane: one connection ---------------------------------------------------------

    async def _lane(self, client: PipeliningSMTP, ready: asyncio.Future[None] | None) -> None:
        if ready is not None:
            try:
                await self._connect(client)
            except Exception:  # the first message connects again, and says why it cannot
                client.close()
            finally:
                ready.set_result(None)
        # `group.opened`: its DATA is open, its content goes in the next write.
        group = _Group()
        while True:
            if group.opened is None:
                job = await self._jobs.get()
                if job is _CLOSE:
                    break
                if job is not None and not job.waits():
                    continue  # its sender stopped waiting, or it is too late for it
            else:
                job = self._next_waiting()  # if none, the content goes alone, now
            group.job = job
            try:
                await self._exchange(client, group)
            except Exception as exc:  # a lost connection, a timeout, or a bug: never hang
                client.close()  # reopened for the next message
                if group.opened is not None:
                    _settle(group.opened, _unanswered(exc))
                # Pipelined, only its envelope went: the relay cannot have it (one command
                # at a time, a failure in DATA already says it may).
                _settle(group.job, exc)
                group.opened = None
            group.job = None
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    def _next_waiting(self) -> _Job | None:
        """The next queued message whose sender still waits, if one is queued."""
        while not self._jobs.empty():
            job = self._jobs.get_nowait()
            if job is _CLOSE:
                self._jobs.put_nowait(_CLOSE)  # seen again once the lane is idle
                return None
            if job.waits():
                return job
        return None

    async def _exchange(self, client: PipeliningSMTP, group: _Group) -> None:
        """One step on this connection: the open message's content, if any, and the next
        message's envelope, if any (and, chained, as many more as come). Leaves in
        `group.opened` the message whose DATA is now open."""
        while True:
            group.fresh = group.opened is None and not client.is_connected
            if group.fresh:
                await self._connect(client)
            try:
                await self._exchange_on(client, group)
                return
            except (aiosmtplib.SMTPServerDisconnected, _RelayClosing) as exc:
                # A relay that closed a connection it had used (idle too long), or closes
                # it now (421), took nothing of this message: once more on a fresh
                # connection. Not when the connection died with another message's content
                # on it, nor when a fresh one fails.
                closing = isinstance(exc, _RelayClosing)
                if group.fresh or group.job is None or (group.content_sent and not closing):
                    raise
                client.close()
                group.opened = None  # settled by its reply, before the 421

    async def _connect(self, client: PipeliningSMTP) -> None:
        await client.connect()
        self.connections_opened += 1
        if client.is_ehlo_or_helo_needed:
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()

    async def _exchange_on(self, client: PipeliningSMTP, group: _Group) -> None:
        if not client.supports_extension("pipelining"):
            assert group.opened is None
            assert group.job is not None
            single = group.job
            try:
                await self._transmit(client, single)
            except _ENVELOPE_REFUSALS as exc:
                _settle(single, exc)
            else:
                _settle(single, None)
            group.job = None
            return
        envelope = b""
        if group.job is not None:
            try:
                envelope = self._envelope(client, group.job)
            except aiosmtplib.SMTPNotSupported as exc:
                _settle(group.job, exc)
                group.job = None
        content = b"" if group.opened is None else _content(group.opened)
        if not (content or envelope):
            return
        group.content_sent = bool(content)
        lost: PipelineInterrupted | None = None
        try:
            replies = await client.pipeline(
                content + envelope,
                bool(content) + 3 * bool(envelope),
                then=lambda replies: self._chain(client, group, replies),
            )
        except PipelineInterrupted as exc:  # the replies that came still count
            lost, replies = exc, exc.replies
        if group.opened is not None:
            if lost is not None and not replies:
                raise lost  # its content went out unanswered: the lane says so
            reply = replies.pop(0)
            ok = reply.code == aiosmtplib.SMTPStatus.completed
            _settle(
                group.opened, None if ok else aiosmtplib.SMTPDataError(reply.code, reply.message)
            )
            group.opened = None
        job = group.job
        if job is None:
            return
        if lost is not None and len(replies) < 3:
            if replies:
                _check_mail(replies[0], self._from_address)  # a 421, then the relay closed
            raise lost
        mail_reply, rcpt_reply, data_reply = replies
        try:
            _check_mail(mail_reply, self._from_address)
            _check_rcpt(rcpt_reply, job.msg.to)
            if data_reply.code != aiosmtplib.SMTPStatus.start_input:
                raise aiosmtplib.SMTPDataError(data_reply.code, data_reply.message)
        except _RelayClosing:
            client.close()
            raise
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
            if data_reply.code == aiosmtplib.SMTPStatus.start_input:
                # A relay that opened DATA without a recipient gets an empty message, which
                # it must not deliver (RFC 2920 §3.1); its reply does not matter.
                await client.pipeline(b".\r\n", 1)
            await _reset(client)
            _settle(job, exc)
            group.job = None
            return
        group.opened, group.job = job, None

    def _chain(
        self, client: PipeliningSMTP, group: _Group, replies: list[SMTPResponse]
    ) -> tuple[bytes, int] | None:
        """The group after this one, written as its replies are read (in the protocol's
        callback, not the lane's task), when every reply is the expected one and another
        message waits: the content whose DATA just opened, and that message's envelope.
        Anything else (a refusal, an idle queue, the lane closing) is the lane's to handle,
        with these replies."""
        job = group.job
        if job is None:
            return None
        content_reply = replies[0] if group.opened is not None else None
        mail, rcpt, data = replies[-3:]
        if (
            (content_reply is not None and content_reply.code != aiosmtplib.SMTPStatus.completed)
            or mail.code != aiosmtplib.SMTPStatus.completed
            or rcpt.code
            not in (aiosmtplib.SMTPStatus.completed, aiosmtplib.SMTPStatus.will_forward)
            or data.code != aiosmtplib.SMTPStatus.start_input
        ):
            return None
        following = self._next_waiting()
        if following is None:
            return None
        try:
            envelope = self._envelope(client, following)
        except Exception as exc:  # e.g. an accented address the relay cannot take
            _settle(following, exc)
            return None
        _settle(group.opened, None)
        group.opened, group.job = job, following
        group.content_sent, group.fresh = True, False
        return _content(job) + envelope, 4

    def _envelope(self, client: PipeliningSMTP, job: _Job) -> bytes:
        """MAIL FROM (with SIZE, and SMTPUTF8 for an accented address), RCPT TO, DATA."""
        message, to = job.message, job.msg.to
        options = [b"SIZE=%d" % len(message.data)] if client.supports_extension("size") else []
        encoding = "ascii"
        if message.needs_smtputf8:
            if not client.supports_extension("smtputf8"):
                raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
            options.append(b"SMTPUTF8")
            encoding = "utf-8"
        mail = b" ".join([b"MAIL", job.mail_from, *options])
        return b"%s\r\nRCPT TO:<%s>\r\nDATA\r\n" % (mail, to.encode(encoding))

    async def _transmit(self, client: PipeliningSMTP, job: _Job) -> None:
        """One message, one command at a time, for a relay without PIPELINING: as
        `sendmail` would send it for one recipient, without re-parsing both addresses four
        times per message (the sender was checked once; `email_bytes` refused a recipient
        address that is not plain)."""
        message, to = job.message, job.msg.to
        mail, rcpt, _ = self._envelope(client, job).split(b"\r\n", 2)
        try:
            _check_mail(await client.execute_command(mail), self._from_address)
            _check_rcpt(await client.execute_command(rcpt), to)
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
            await _reset(client)
            raise
        try:
            await client.data(message.data)
        except aiosmtplib.SMTPResponseException:
            await _reset(client)
            raise
        except Exception as exc:
            # Lost or timed out in DATA: the relay may have the message. Not an idle
            # connection to retry on a fresh one at once.
            raise _unanswered(exc) from exc


def _content(job: _Job) -> bytes:
    """A message's content as DATA carries it, with the line that ends it."""
    return _dot_stuffed(job.message.data) + b".\r\n"


def _unanswered(exc: Exception) -> _Unanswered:
    """`exc`, marked as having left a message's content unanswered."""
    wrapped = _Unanswered(str(exc))
    wrapped.__cause__ = exc
    return wrapped


async def _reset(client: PipeliningSMTP) -> None:
    """Leaves the connection ready for the next message after a refusal, as `sendmail`
    does."""
    with suppress(ConnectionError, aiosmtplib.SMTPResponseException):
        await client.rset()


def _settle(job: _Job | None, error: BaseException | None) -> None:
    if job is None or job.done.done():
        return
    if error is None:
        job.done.set_result(None)
    else:
        job.done.set_exception(error)
