"""Opt-outs: one `MarketingSuppression` per (owner, customer, channel), recorded once."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit_service
from rebook.models import MarketingSuppression, Place, User
from rebook.unsubscribe.tokens import UnsubscribeTarget

logger = logging.getLogger(__name__)

UNSUBSCRIBED_ACTION = "customer.unsubscribed"
RESUBSCRIBED_ACTION = "customer.resubscribed"


async def suppress(
    session: AsyncSession,
    *,
    owner_id: int,
    user_id: int,
    channel: str,
    source: str,
    ip_address: str | None = None,
) -> bool:
    """Record that `user_id` no longer wants `owner_id`'s messages on `channel`, with an audit
    event. Idempotent: True when this call recorded it, False when it was already recorded."""
    inserted = await session.scalar(
        insert(MarketingSuppression)
        .values(owner_id=owner_id, user_id=user_id, channel=channel, source=source)
        .on_conflict_do_nothing(
            index_elements=[
                MarketingSuppression.user_id,
                MarketingSuppression.owner_id,
                MarketingSuppression.channel,
            ]
        )
        .returning(MarketingSuppression.id)
    )
    if inserted is None:
        return False
    await audit_service.record(
        session,
        UNSUBSCRIBED_ACTION,
        owner_id=owner_id,
        actor_user_id=user_id,
        details={"channel": channel, "source": source, "customer_id": user_id},
        ip_address=ip_address,
    )
    logger.info(
        "customer unsubscribed",
        extra={"owner_id": owner_id, "user_id": user_id, "channel": channel, "source": source},
    )
    return True


async def unsuppress(
    session: AsyncSession,
    *,
    owner_id: int,
    user_id: int,
    channel: str,
    source: str,
    ip_address: str | None = None,
) -> bool:
    """Lift `user_id`'s opt-out from `owner_id`'s messages on `channel` (the customer asked
    for them again), with an audit event naming the opt-out it lifted. True when there was
    one."""
    lifted = (
        await session.execute(
            delete(MarketingSuppression)
            .where(
                MarketingSuppression.owner_id == owner_id,
                MarketingSuppression.user_id == user_id,
                MarketingSuppression.channel == channel,
            )
            .returning(MarketingSuppression.source, MarketingSuppression.created_at)
        )
    ).first()
    if lifted is None:
        return False
    await audit_service.record(
        session,
        RESUBSCRIBED_ACTION,
        owner_id=owner_id,
        actor_user_id=user_id,
        details={
            "channel": channel,
            "source": source,
            "customer_id": user_id,
            "lifted_source": lifted.source,
            "unsubscribed_at": lifted.created_at.isoformat(),
        },
        ip_address=ip_address,
    )
    logger.info(
        "customer resubscribed",
        extra={"owner_id": owner_id, "user_id": user_id, "channel": channel, "source": source},
    )
    return True


async def target_exists(session: AsyncSession, target: UnsubscribeTarget) -> bool:
    """Both people of a token still exist (a deleted account has nothing left to stop)."""
    found = await session.scalar(
        select(User.id)
        .where(User.id == target.user_id)
        .where(select(User.id).where(User.id == target.owner_id).exists())
    )
    return found is not None


async def is_suppressed(session: AsyncSession, target: UnsubscribeTarget) -> bool:
    """The customer already opted out of this owner's messages on this channel."""
    found = await session.scalar(
        select(MarketingSuppression.id).where(
            MarketingSuppression.owner_id == target.owner_id,
            MarketingSuppression.user_id == target.user_id,
            MarketingSuppression.channel == target.channel,
        )
    )
    return found is not None


async def business_name(session: AsyncSession, target: UnsubscribeTarget) -> str | None:
    """How the customer knows the owner: the place the message came from (still the
    owner's), else — an older link, or a place since deleted — the owner's first place."""
    query = select(Place.name).where(Place.owner_id == target.owner_id)
    if target.place_id is not None:
        name: str | None = await session.scalar(query.where(Place.id == target.place_id))
        if name is not None:
            return name
    name = await session.scalar(query.order_by(Place.id).limit(1))
    return name
