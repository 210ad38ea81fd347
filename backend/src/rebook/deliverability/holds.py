"""The owner's complaint rate and the hold on their emails.

Complaint rate: complaints about the owner's emails over the emails they sent, both within
BOUNCE_WINDOW_DAYS. Above COMPLAINT_RATE_WARNING the owner is warned; above
COMPLAINT_RATE_HOLD (Gmail's 0.3 % line) their emails are held — no new send, scheduled or
running campaigns send no more email — until the operator lifts the hold (`rebook
lift-hold`). A lifted hold is placed again only by a later complaint over the line."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.config import Settings
from rebook.delivery import queue
from rebook.models import (
    AuditActor,
    Campaign,
    CampaignDelivery,
    CampaignStatus,
    Channel,
    DeliveryStatus,
    EmailBounce,
    SendHold,
    User,
    UserRole,
)

logger = logging.getLogger(__name__)

HELD_MESSAGE = (
    "Your emails are on hold: too many customers marked them as spam ({rate} over the last "
    "{days} days; the limit is {limit}). Contact support to have the hold lifted."
)


@dataclass(frozen=True)
class ComplaintRate:
    complaints: int
    emails: int
    window_days: int

    @property
    def rate(self) -> float:
        return self.complaints / self.emails if self.emails else 0.0


async def complaint_rate(
    session: AsyncSession, owner_id: int, settings: Settings, now: datetime | None = None
) -> ComplaintRate:
    since = (now or datetime.now(UTC)) - timedelta(days=settings.bounce_window_days)
    emails = await session.scalar(
        select(func.count())
        .select_from(CampaignDelivery)
        .join(Campaign, Campaign.id == CampaignDelivery.campaign_id)
        .where(
            Campaign.owner_id == owner_id,
            CampaignDelivery.channel == Channel.email,
            CampaignDelivery.sent_at >= since,
        )
    )
    complaints = await session.scalar(
        select(func.count())
        .select_from(EmailBounce)
        .where(
            EmailBounce.owner_id == owner_id,
            EmailBounce.kind == "complaint",
            EmailBounce.created_at >= since,
        )
    )
    return ComplaintRate(int(complaints or 0), int(emails or 0), settings.bounce_window_days)


async def open_hold(session: AsyncSession, owner_id: int) -> SendHold | None:
    hold: SendHold | None = await session.scalar(
        select(SendHold).where(SendHold.owner_id == owner_id, SendHold.lifted_at.is_(None))
    )
    return hold


async def is_held(session: AsyncSession, owner_id: int) -> bool:
    return await open_hold(session, owner_id) is not None


def held_message(hold: SendHold, settings: Settings) -> str:
    return HELD_MESSAGE.format(
        rate=f"{float(hold.complaint_rate):.2%}",
        days=settings.bounce_window_days,
        limit=f"{settings.complaint_rate_hold:.1%}",
    )


async def check(
    session: AsyncSession, owner_id: int, settings: Settings, now: datetime | None = None
) -> bool:
    """After a complaint: hold the owner's emails if their rate is now over the line (and
    enough emails were sent for the rate to mean something). True when it placed a hold."""
    measured = await complaint_rate(session, owner_id, settings, now)
    if measured.emails < settings.complaint_rate_min_emails:
        return False
    if measured.rate <= settings.complaint_rate_hold:
        return False
    placed = await session.scalar(
        insert(SendHold)
        .values(
            owner_id=owner_id,
            complaint_rate=Decimal(str(round(measured.rate, 6))),
            complaints=measured.complaints,
            emails=measured.emails,
        )
        .on_conflict_do_nothing(
            index_elements=[SendHold.owner_id], index_where=SendHold.lifted_at.is_(None)
        )
        .returning(SendHold.id)
    )
    if placed is None:
        return False
    await audit.record(
        session,
        "owner.emails_held",
        owner_id=owner_id,
        by_system=True,
        details={
            "complaint_rate": round(measured.rate, 6),
            "complaints": measured.complaints,
            "emails": measured.emails,
            "limit": settings.complaint_rate_hold,
        },
    )
    logger.warning(
        "owner emails held",
        extra={"owner_id": owner_id, "complaints": measured.complaints, "emails": measured.emails},
    )
    return True


async def lift(session: AsyncSession, owner_email: str, reason: str) -> int | None:
    """The operator lifts the owner's hold; their sending campaigns carry on. Returns how
    many campaigns resume, or None when the owner has no hold."""
    owner_id = await session.scalar(
        select(User.id).where(
            func.lower(User.email) == owner_email.strip().lower(),
            User.role == UserRole.business_owner,
        )
    )
    hold = await open_hold(session, owner_id) if owner_id is not None else None
    if owner_id is None or hold is None:
        return None
    hold.lifted_at = datetime.now(UTC)
    hold.lift_reason = reason
    await session.flush()
    waiting = (
        await session.scalars(
            select(Campaign.id).where(
                Campaign.owner_id == owner_id,
                Campaign.status == CampaignStatus.sending,
                select(CampaignDelivery.id)
                .where(
                    CampaignDelivery.campaign_id == Campaign.id,
                    CampaignDelivery.status == DeliveryStatus.pending,
                    CampaignDelivery.channel == Channel.email,
                )
                .exists(),
            )
        )
    ).all()
    for campaign_id in waiting:
        await queue.schedule_start(session, campaign_id, None)
    await audit.record(
        session,
        "owner.emails_hold_lifted",
        owner_id=owner_id,
        by_system=True,
        actor=AuditActor.system,  # the operator, at the command line
        details={"reason": reason, "hold_id": hold.id, "campaigns_resumed": list(waiting)},
    )
    return len(waiting)
