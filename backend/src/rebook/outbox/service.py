"""The owner's Outbox: what the `outbox` backends kept instead of sending."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import CampaignDelivery, Channel, OutboxMessage
from rebook.outbox.schemas import OutboxMessageRead
from rebook.pagination import PageParams


async def list_outbox(
    session: AsyncSession, owner_id: int, params: PageParams, channel: Channel | None = None
) -> tuple[list[OutboxMessageRead], int]:
    """One page of the owner's kept messages, newest first, and how many there are."""
    conditions = [OutboxMessage.owner_id == owner_id]
    if channel is not None:
        conditions.append(OutboxMessage.channel == channel.value)
    total = await session.scalar(select(func.count(OutboxMessage.id)).where(*conditions))
    rows = await session.execute(
        select(OutboxMessage, CampaignDelivery.campaign_id)
        .outerjoin(CampaignDelivery, CampaignDelivery.id == OutboxMessage.delivery_id)
        .where(*conditions)
        .order_by(OutboxMessage.id.desc())
        .limit(params.limit)
        .offset(params.offset)
    )
    items = [
        OutboxMessageRead(
            id=message.id,
            channel=message.channel,
            to_address=message.to_address,
            subject=message.subject,
            body=message.body,
            html_body=message.html_body,
            sender=message.sender,
            created_at=message.created_at,
            delivery_id=message.delivery_id,
            campaign_id=campaign_id,
        )
        for message, campaign_id in rows
    ]
    return items, int(total or 0)
