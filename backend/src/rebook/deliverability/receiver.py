"""`rebook bounces`: the SMTP server BOUNCE_DOMAIN's MX points at. It takes mail for

  - the VERP return paths (`b-<delivery>-<signature>@`): delivery status notifications
    (RFC 3464), and the ARF reports some feedback loops send to the return path;
  - `fbl@`, `abuse@`, `postmaster@`: feedback-loop complaint reports (ARF, RFC 5965), matched
    to our email by the Message-ID (or return path) of the original they quote;
  - `unsubscribe@`: the `mailto:` of List-Unsubscribe, whose subject carries the signed token.

Any other address is refused at RCPT (550), so a forged return path never gets as far as the
content. A report that names no email of ours changes nothing and is still answered 250:
bounces are never bounced."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import signal
from typing import Any

from aiosmtpd.smtp import SMTP

from rebook.channels import verp
from rebook.config import Settings
from rebook.db import session_scope
from rebook.deliverability import reports, service
from rebook.models import Channel
from rebook.unsubscribe import service as unsubscribe
from rebook.unsubscribe.tokens import read_token

logger = logging.getLogger(__name__)

REPORT_MAILBOXES = ("fbl", "abuse", "postmaster")
# A DSN quotes the original message; campaign emails are far smaller than this.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAILTO_SOURCE = "mailto"


class BounceHandler:
    """aiosmtpd's handler: checks each recipient, then reads the message once accepted."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.domain = settings.bounce_domain.lower()

    def accepts(self, address: str) -> bool:
        local, _, domain = address.lower().rpartition("@")
        if domain != self.domain:
            return False
        if local in (*REPORT_MAILBOXES, verp.UNSUBSCRIBE_LOCAL_PART):
            return True
        return verp.delivery_of(address, self.settings) is not None

    # aiosmtpd's hooks, called with positional arguments.
    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: list[str]
    ) -> str:
        if not self.accepts(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        try:
            await receive(bytes(envelope.content), list(envelope.rcpt_tos), self.settings)
        except Exception:
            logger.exception("bounce not processed")
            return "451 4.3.0 Could not process this message now; try again later"
        return "250 OK"


async def receive(content: bytes, rcpt_tos: list[str], settings: Settings) -> int:
    """Apply what one received message says; returns how many reports took effect."""
    applied = 0
    for rcpt in rcpt_tos:
        local = rcpt.lower().rpartition("@")[0]
        if local == verp.UNSUBSCRIBE_LOCAL_PART:
            applied += await _mailto_unsubscribe(content, settings)
            continue
        delivery_id = verp.delivery_of(rcpt, settings)
        for report in reports.parse(content):
            applied += await _apply(report, delivery_id, settings)
    return applied


async def _apply(report: reports.Report, delivery_id: int | None, settings: Settings) -> int:
    source = "arf" if report.kind == "complaint" else "dsn"
    async with session_scope() as session:
        target = None
        if delivery_id is not None:
            target = await service.target_of_delivery(session, delivery_id)
        if target is None:
            target = await service.target_of_message_id(session, report.message_id)
        if target is None and report.return_path:
            quoted = verp.delivery_of(report.return_path, settings)
            if quoted is not None:
                target = await service.target_of_delivery(session, quoted)
        if target is None:
            logger.info("report about no email of ours", extra={"kind": report.kind})
            return 0
        if report.recipient and report.recipient != target.address and delivery_id is None:
            # Matched by a quoted header only: the report must be about that email's address.
            logger.info("report for another address", extra={"delivery_id": target.delivery_id})
            return 0
        done = await service.record(session, target, report.kind, report.detail, source, settings)
    return int(done)


async def _mailto_unsubscribe(content: bytes, settings: Settings) -> int:
    message = email.message_from_bytes(content, policy=email.policy.default)
    words = str(message.get("Subject", "")).split()
    target = read_token(words[-1], settings) if words else None
    if target is None or target.channel != Channel.email:
        logger.info("mailto unsubscribe without a valid token")
        return 0
    async with session_scope() as session:
        if not await unsubscribe.target_exists(session, target):
            return 0
        done = await unsubscribe.suppress(
            session,
            owner_id=target.owner_id,
            user_id=target.user_id,
            channel=target.channel,
            source=MAILTO_SOURCE,
        )
    return int(done)


async def start(settings: Settings, host: str, port: int) -> asyncio.Server:
    """The receiver, listening on host:port in the running loop."""
    handler = BounceHandler(settings)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler,
            hostname=settings.bounce_domain or None,
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
        ),
        host,
        port,
    )


def run_receiver(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT."""
    import uvloop

    if not settings.bounce_domain:
        raise SystemExit("Rebook cannot start the bounce receiver: set BOUNCE_DOMAIN")

    async def serve() -> None:
        server = await start(settings, settings.bounces_host, settings.bounces_port)
        logger.info(
            "bounce receiver listening",
            extra={"host": settings.bounces_host, "port": settings.bounces_port},
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()

    uvloop.run(serve())
