"""The `outbox` backend: nothing leaves the machine; each message is kept as an
`OutboxMessage` row that the owner's Outbox page lists (the demo, and tests).

Each send commits in its own short transaction, like a real provider call would, and is
idempotent on the delivery: sending a delivery twice keeps one row and answers the same id."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from rebook.channels.base import OutgoingEmail, OutgoingWhatsApp, SendResult, mask
from rebook.db import session_scope
from rebook.models import Channel, OutboxMessage

logger = logging.getLogger(__name__)

# What the demo shows: the outbox "delivers" at once.
OUTBOX_STATUS = "delivered"


def _result(outbox_id: int) -> SendResult:
    return SendResult(provider_message_id=f"outbox-{outbox_id}", provider_status=OUTBOX_STATUS)


async def _store(
    *,
    delivery_id: int,
    owner_id: int,
    channel: Channel,
    to_address: str,
    subject: str | None,
    body: str,
    html_body: str | None = None,
    sender: str | None = None,
) -> SendResult:
    async with session_scope() as session:
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
        from rebook.channels.mime import sender_of, with_html_footer, with_text_footer

        default_name, address = sender_of(self._email_from)
        return await _store(
            delivery_id=msg.delivery_id,
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
    variables = json.dumps(msg.content_variables or {}, ensure_ascii=False, sort_keys=True)
    return f"[WhatsApp template {msg.content_sid}] {variables}"


class OutboxWhatsAppSender:
    async def connect(self) -> None:
        """Nothing to open."""

    async def send(self, msg: OutgoingWhatsApp) -> SendResult:
        return await _store(
            delivery_id=msg.delivery_id,
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
