"""The audit trail: who did what to which campaign, when and from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import AuditActor, AuditEvent, Campaign
from rebook.request_context import USER_AGENT_MAX, Origin


async def record(
    session: AsyncSession,
    action: str,
    *,
    owner_id: int | None,
    actor_user_id: int | None = None,
    campaign_id: int | None = None,
    details: dict[str, Any] | None = None,
    ip_address: str | None = None,
    origin: Origin | None = None,
    by_system: bool = False,
    actor: AuditActor | None = None,
) -> None:
    """Record an event; the actor is the owner unless another person is named (a customer) or
    the system acted (`by_system`: the delivery worker, unless `actor` says otherwise)."""
    user_id = None if by_system else (actor_user_id or owner_id)
    if actor is None:
        if by_system or user_id is None:
            actor = AuditActor.worker if by_system else AuditActor.system
        else:
            actor = AuditActor.owner if user_id == owner_id else AuditActor.customer
    agent = origin.user_agent if origin else None
    session.add(
        AuditEvent(
            action=action,
            owner_id=owner_id,
            actor_user_id=user_id,
            actor=actor,
            campaign_id=campaign_id,
            details=details or {},
            ip_address=origin.ip_address if origin else ip_address,
            user_agent=agent[:USER_AGENT_MAX] if agent else None,
        )
    )
    await session.flush()


async def campaign_events(
    session: AsyncSession, campaign: Campaign, limit: int, offset: int
) -> tuple[list[AuditEvent], int]:
    """The campaign's events, newest first."""
    where = AuditEvent.campaign_id == campaign.id
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(where))
    events = (
        await session.scalars(
            select(AuditEvent)
            .where(where)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return list(events), int(total or 0)


async def forget_draft(session: AsyncSession, campaign: Campaign) -> None:
    """Remove the events of a campaign that never sent, before the campaign itself (the
    database refuses it for one that did)."""
    await session.execute(delete(AuditEvent).where(AuditEvent.campaign_id == campaign.id))
