"""The `outbox` backend: nothing leaves the machine; each message is kept as an
`OutboxMessage` row that the owner's Outbox page lists (the demo, and tests).

Each send commits in its own short transaction, like a real provider call would, and is
idempotent on the delivery: sending a delivery twice keeps one row and answers the same id."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.channels.base import (
    ContentTemplate,
    OutgoingEmail,
    OutgoingWhatsApp,
    SendResult,
    mask,
)
from rebook.channels.mime import sender_of, with_html_footer, with_text_footer
from rebook.db import session_scope
from rebook.models import Channel, OutboxMessage

logger = logging.getLogger(__name__)

# What the demo shows: the outbox "delivers" at once.
OUTBOX_STATUS = "delivered"


def _result(outbox_id: int) -> SendResult:
    return SendResult(provider_message_id=f"outbox-{outbox_id}", provider_status=OUTBOX_STATUS)


async def _store(
    *,
    delivery_id: int | None,
    owner_id: int,
    channel: Channel,
    to_address: str,
    subject: str | None,
    body: str,
    session: AsyncSession | None = None,
    html_body: str | None = None,
    sender: str | None = None,
) -> SendResult:
    """Kept in a transaction of its own, as a provider would; or, given one, in `session`
    (a test send: the request's own)."""
    async with contextlib.AsyncExitStack() as stack:
        if session is None:
            session = await stack.enter_async_context(session_scope())
        outbox_id = await session.scalar(
            insert(OutboxMessage)
            .values(
                delivery_id=delivery_id,
                owner_id=owner_id,
                channel=channel.value,
                to_address=to_address,
                subject=subject,
                body=body,
                html_body=html_body,
                sender=sender,
            )
            .on_conflict_do_nothing(index_elements=[OutboxMessage.delivery_id])
            .returning(OutboxMessage.id)
        )
        if outbox_id is None:
            outbox_id = await session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.delivery_id == delivery_id)
            )
    assert outbox_id is not None
    logger.info(
        "outbox message stored",
        extra={
            "delivery_id": delivery_id,
            "channel": channel.value,
            "to": mask(to_address),
            "provider_message_id": f"outbox-{outbox_id}",
        },
    )
    return _result(outbox_id)


async def keep_test(session: AsyncSession, msg: OutgoingEmail | OutgoingWhatsApp) -> SendResult:
    """A test send, kept with the request that made it."""
    if isinstance(msg, OutgoingEmail):
        return await _store(
            delivery_id=None,
            owner_id=msg.owner_id,
            channel=Channel.email,
            to_address=msg.to,
            subject=msg.subject,
            body=with_text_footer(msg.text, msg.unsubscribe_url),
            session=session,
        )
    return await _store(
        delivery_id=None,
        owner_id=msg.owner_id,
        channel=Channel.whatsapp,
        to_address=msg.to_e164,
        subject=None,
        body=whatsapp_outbox_body(msg),
        session=session,
    )


async def find_stored(delivery_id: int) -> SendResult | None:
    async with session_scope() as session:
        outbox_id = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.delivery_id == delivery_id)
        )
    return _result(outbox_id) if outbox_id is not None else None


class OutboxEmailSender:
    """Keeps both parts with their unsubscribe footer, and the From, as a mail program
    would show them (the HTML is only ever shown in a sandboxed frame)."""

    def __init__(self, email_from: str = "Rebook <no-reply@rebook.test>") -> None:
        self._email_from = email_from

    async def connect(self) -> None:
        """Nothing to open."""

    async def send(
        self,
        msg: OutgoingEmail,
        *,
        not_after: datetime | None = None,  # noqa: ARG002 - nothing waits here
    ) -> SendResult:
        default_name, address = sender_of(self._email_from)
        return await _store(
            delivery_id=msg.delivery_id or None,  # a test send has no delivery
            owner_id=msg.owner_id,
            channel=Channel.email,
            to_address=msg.to,
            subject=msg.subject,
            body=with_text_footer(msg.text, msg.unsubscribe_url),
            html_body=with_html_footer(msg.html, msg.unsubscribe_url),
            # As a mail program displays it (not header-encoded).
            sender=f"{msg.from_name or default_name} <{address}>",
        )

    async def aclose(self) -> None:
        return None


def whatsapp_outbox_body(msg: OutgoingWhatsApp) -> str:
    if msg.body is not None:
        return msg.body
    if msg.template_text is not None:
        return msg.template_text
    variables = json.dumps(msg.content_variables or {}, ensure_ascii=False, sort_keys=True)
    return f"[WhatsApp template {msg.content_sid}] {variables}"


class OutboxWhatsAppSender:
    async def connect(self) -> None:
        """Nothing to open."""

    async def send(self, msg: OutgoingWhatsApp) -> SendResult:
        return await _store(
            delivery_id=msg.delivery_id or None,
            owner_id=msg.owner_id,
            channel=Channel.whatsapp,
            to_address=msg.to_e164,
            subject=None,
            body=whatsapp_outbox_body(msg),
        )

    async def find_sent(
        self,
        msg: OutgoingWhatsApp,
        since: datetime,  # noqa: ARG002
    ) -> SendResult | None:
        # The row is keyed by delivery, so `since` adds nothing here.
        return await find_stored(msg.delivery_id)

    async def aclose(self) -> None:
        return None


def _demo(
    sid: str,
    name: str,
    category: str,
    body: str,
    samples: dict[str, str],
    *,
    status: str = "approved",
    rejection_reason: str | None = None,
    buttons: tuple[str, ...] = (),
) -> ContentTemplate:
    types: dict[str, object] = {"twilio/text": {"body": body}}
    if buttons:
        types = {
            "twilio/quick-reply": {
                "body": body,
                "actions": [{"title": b, "id": b.lower().replace(" ", "_")} for b in buttons],
            }
        }
    return ContentTemplate(
        content_sid=sid,
        friendly_name=name,
        language="en",
        category=category,
        status=status,
        rejection_reason=rejection_reason,
        types=types,
        sample_variables=samples,
    )


# What the demo's WhatsApp account holds: templates in every state an owner meets.
DEMO_TEMPLATES = (
    _demo(
        "HX" + "5b1e0c4d2a7f4e1c9b3d8a6f0e2c4b71",
        "Spring offer",
        "MARKETING",
        "Hi {{1}}! Spring is here at {{2}}: enjoy 20% off your next visit this month. "
        "Book in the app or reply to this message.",
        {"1": "Camille", "2": "Studio Lumière"},
    ),
    _demo(
        "HX" + "8c2f1a9e3b6d4c07a1e5f9b2d4c6a803",
        "We miss you",
        "MARKETING",
        "{{1}}, it has been a while! Come back to {{2}} and get a free treatment with your "
        "next booking.",
        {"1": "Camille", "2": "Studio Lumière"},
        buttons=("Book now", "Not now"),
    ),
    _demo(
        "HX" + "1d7e3f5a9c2b4e6081f3a5c7e9b1d305",
        "Visit follow-up",
        "UTILITY",
        "Thank you for your visit to {{1}}. Reply to this message if anything was not right.",
        {"1": "Studio Lumière"},
    ),
    _demo(
        "HX" + "3a9c5e7b1d2f4a6c8e0b2d4f6a8c0e27",
        "Flash sale",
        "MARKETING",
        "{{1}}: 48 hours only, 30% off every treatment at {{2}}.",
        {"1": "Camille", "2": "Studio Lumière"},
        status="pending",
    ),
    _demo(
        "HX" + "6f0b2d4e8a1c3e5f7b9d1f3a5c7e9b49",
        "Free gift",
        "UTILITY",
        "Claim your free gift at {{1}} now!",
        {"1": "Studio Lumière"},
        status="rejected",
        rejection_reason="INVALID_CATEGORY: promotional content submitted as a utility "
        "template; submit it again as marketing.",
    ),
)


class OutboxTemplateCatalog:
    """The demo's templates: the flow of picking an approved template works with no
    Twilio account."""

    @property
    def account(self) -> str:
        return "outbox"

    async def list_templates(self) -> list[ContentTemplate]:
        return list(DEMO_TEMPLATES)

    async def aclose(self) -> None:
        return None
