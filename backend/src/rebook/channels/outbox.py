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
    delivery_id: int | None,
    owner_id: int,
    channel: Channel,
    to_address: str,
    subject: str | None,
    body: str,
    session: AsyncSession | None = None,
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
        from rebook.channels.mime import with_text_footer

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
    """Keeps the text part (with its unsubscribe footer): safe to show as plain text."""

    async def connect(self) -> None:
        """Nothing to open."""

    async def send(
        self,
        msg: OutgoingEmail,
        *,
        not_after: datetime | None = None,  # noqa: ARG002 - nothing waits here
    ) -> SendResult:
        from rebook.channels.mime import with_text_footer

        return await _store(
            delivery_id=msg.delivery_id or None,  # a test send has no delivery
            owner_id=msg.owner_id,
            channel=Channel.email,
            to_address=msg.to,
            subject=msg.subject,
            body=with_text_footer(msg.text, msg.unsubscribe_url),
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
