"""The audit trail: who did what to which campaign, when and from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import AuditEvent


async def record(
    session: AsyncSession,
    action: str,
    *,
    owner_id: int | None,
    actor_user_id: int | None = None,
    campaign_id: int | None = None,
    details: dict[str, Any] | None = None,
    ip_address: str | None = None,
    by_system: bool = False,
) -> None:
    """Record an event; the actor is the owner unless another actor is named or the system
    (a worker) acted."""
    session.add(
        AuditEvent(
            action=action,
            owner_id=owner_id,
            actor_user_id=None if by_system else (actor_user_id or owner_id),
            campaign_id=campaign_id,
            details=details or {},
            ip_address=ip_address,
        )
    )
    await session.flush()
