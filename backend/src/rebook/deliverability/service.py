"""What a bounce or complaint does, however it came (a relay's refusal while sending, a DSN or
ARF report by mail, a provider webhook):

  - a hard bounce marks the delivery `bounced` with the reason and suppresses the address for
    every owner;
  - a soft bounce marks it too, and suppresses the address after SOFT_BOUNCE_LIMIT of them
    (on different emails) within BOUNCE_WINDOW_DAYS;
  - a complaint ("this is spam") suppresses the customer's email for that owner, like an
    unsubscribe, and counts towards the owner's complaint rate (`holds.py`).

Each is recorded once per delivery and kind (`email_bounces`): a report that comes twice, by
mail and by webhook, or retried by its provider, changes nothing the second time."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.channels.base import mask
from rebook.channels.mime import delivery_id_of
from rebook.config import Settings
from rebook.deliverability import holds
from rebook.deliverability.reports import Kind, Report
from rebook.models import (
    Campaign,
    CampaignDelivery,
    CampaignRecipient,
    Channel,
    DeliveryStatus,
    EmailBounce,
    EmailSuppression,
)
from rebook.unsubscribe import service as unsubscribe

logger = logging.getLogger(__name__)

COMPLAINT_SOURCE = "complaint"
PROVIDER_STATUS = {"hard": "bounced", "soft": "soft_bounced", "complaint": "complained"}
ERROR_MESSAGES = {
    "hard": "Bounced: the receiving server says this address does not exist or takes no mail",
    "soft": "Bounced for now: the receiving server could not take this message",
}


@dataclass(frozen=True)
class Target:
    """The delivered email a report is about."""

    delivery_id: int
    campaign_id: int
    owner_id: int
    user_id: int
    address: str  # where it was sent, lower case


async def _target(session: AsyncSession, *conditions: object) -> Target | None:
    found = (
        await session.execute(
            select(
                CampaignDelivery.id,
                CampaignDelivery.campaign_id,
                Campaign.owner_id,
                CampaignRecipient.user_id,
                CampaignRecipient.customer_email,
            )
            .join(CampaignRecipient, CampaignRecipient.id == CampaignDelivery.recipient_id)
            .join(Campaign, Campaign.id == CampaignDelivery.campaign_id)
            .where(CampaignDelivery.channel == Channel.email, *conditions)  # type: ignore[arg-type]
        )
    ).first()
    if found is None or not found.customer_email:
        return None
    return Target(
        found.id, found.campaign_id, found.owner_id, found.user_id, found.customer_email.lower()
    )


async def target_of_delivery(session: AsyncSession, delivery_id: int) -> Target | None:
    """By a delivery id the caller trusts (a signed VERP address)."""
    return await _target(session, CampaignDelivery.id == delivery_id)


async def target_of_message_id(session: AsyncSession, message_id: str | None) -> Target | None:
    """By the Message-ID of our email, as a report quotes it: it names the delivery and
    carries 64 random bits that must match what was sent, so it cannot be guessed."""
    delivery_id = delivery_id_of(message_id or "")
    if delivery_id is None:
        return None
    wanted = message_id.strip() if message_id else ""
    if not wanted.startswith("<"):
        wanted = f"<{wanted}>"
    return await _target(
        session,
        CampaignDelivery.id == delivery_id,
        CampaignDelivery.provider_message_id == wanted,
    )


async def record(
    session: AsyncSession,
    target: Target,
    kind: Kind,
    detail: str,
    source: str,
    settings: Settings,
    *,
    now: datetime | None = None,
    mark_delivery: bool = True,
) -> bool:
    """Apply one bounce or complaint; False when it was already recorded. `mark_delivery`
    False: the worker records the delivery's failure itself (a refusal while sending)."""
    now = now or datetime.now(UTC)
    detail = " ".join(detail.split())[:500]
    recorded = await session.scalar(
        insert(EmailBounce)
        .values(
            delivery_id=target.delivery_id,
            campaign_id=target.campaign_id,
            owner_id=target.owner_id,
            address=target.address,
            kind=kind,
            source=source,
            detail=detail,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[EmailBounce.delivery_id, EmailBounce.kind])
        .returning(EmailBounce.id)
    )
    if recorded is None:
        return False
    suppressed = False
    if kind == "complaint":
        await session.execute(
            update(CampaignDelivery)
            .where(CampaignDelivery.id == target.delivery_id)
            .values(provider_status=PROVIDER_STATUS[kind])
        )
        await unsubscribe.suppress(
            session,
            owner_id=target.owner_id,
            user_id=target.user_id,
            channel=Channel.email,
            source=COMPLAINT_SOURCE,
        )
    else:
        if mark_delivery:
            await _mark_bounced(session, target.delivery_id, kind, detail)
        if kind == "hard" or await _soft_bounces(session, target.address, settings, now) >= (
            settings.soft_bounce_limit
        ):
            reason = "hard_bounce" if kind == "hard" else "soft_bounces"
            suppressed = await suppress_address(
                session, target.address, reason, detail, source, target.delivery_id
            )
    await audit.record(
        session,
        "email.complained" if kind == "complaint" else "email.bounced",
        owner_id=target.owner_id,
        campaign_id=target.campaign_id,
        by_system=True,
        details={
            "delivery_id": target.delivery_id,
            "customer_id": target.user_id,
            "kind": kind,
            "source": source,
            "detail": detail,
            "address_suppressed": suppressed,
        },
    )
    logger.info(
        "email bounce recorded",
        extra={
            "delivery_id": target.delivery_id,
            "campaign_id": target.campaign_id,
            "kind": kind,
            "source": source,
            "to": mask(target.address),
            "address_suppressed": suppressed,
        },
    )
    if kind == "complaint":
        await holds.check(session, target.owner_id, settings, now=now)
    return True


async def _mark_bounced(session: AsyncSession, delivery_id: int, kind: Kind, detail: str) -> None:
    """The delivery did not arrive: failed, with the server's words. Also while `sending`:
    the report can beat the worker's commit of the outcome (which then leaves it)."""
    delivery = CampaignDelivery
    arrived = delivery.status.in_([DeliveryStatus.sent, DeliveryStatus.sending])
    await session.execute(
        update(delivery)
        .where(delivery.id == delivery_id)
        .values(
            provider_status=PROVIDER_STATUS[kind],
            error_code="bounced" if kind == "hard" else "soft-bounce",
            error_message=f"{ERROR_MESSAGES[kind]} ({detail})." if detail else ERROR_MESSAGES[kind],
            status=case((arrived, DeliveryStatus.failed.value), else_=delivery.status),
        )
    )


async def _soft_bounces(
    session: AsyncSession, address: str, settings: Settings, now: datetime
) -> int:
    since = now - timedelta(days=settings.bounce_window_days)
    count = await session.scalar(
        select(func.count())
        .select_from(EmailBounce)
        .where(
            EmailBounce.address == address,
            EmailBounce.kind == "soft",
            EmailBounce.created_at >= since,
        )
    )
    return int(count or 0)


async def suppress_address(
    session: AsyncSession,
    address: str,
    reason: str,
    detail: str,
    source: str,
    delivery_id: int | None,
) -> bool:
    """No owner mails `address` from now on; True when this call suppressed it."""
    inserted = await session.scalar(
        insert(EmailSuppression)
        .values(
            address=address.lower(),
            reason=reason,
            detail=detail,
            source=source,
            delivery_id=delivery_id,
        )
        .on_conflict_do_nothing(index_elements=[EmailSuppression.address])
        .returning(EmailSuppression.id)
    )
    return inserted is not None


async def record_refusal(
    session: AsyncSession, *, delivery_id: int, detail: str, settings: Settings
) -> bool:
    """The relay refused the address for good while we sent (5xx at RCPT): a hard bounce."""
    target = await target_of_delivery(session, delivery_id)
    if target is None:
        return False
    return await record(session, target, "hard", detail, "smtp", settings, mark_delivery=False)


async def apply_reports(
    session: AsyncSession, reports: list[Report], source: str, settings: Settings
) -> int:
    """Reports a provider sent about our emails, each matched by the Message-ID it quotes
    and the address it names; returns how many took effect."""
    applied = 0
    for report in reports:
        target = await target_of_message_id(session, report.message_id)
        if target is None or (report.recipient and report.recipient != target.address):
            logger.info("report about no email of ours", extra={"source": source})
            continue
        applied += await record(session, target, report.kind, report.detail, source, settings)
    return applied


async def campaign_counts(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    """A campaign's emails that bounced (hard or soft) and that customers complained about."""
    rows = (
        await session.execute(
            select(EmailBounce.kind, func.count())
            .where(EmailBounce.campaign_id == campaign_id)
            .group_by(EmailBounce.kind)
        )
    ).all()
    by_kind = {kind: int(n) for kind, n in rows}
    return {
        "bounced": by_kind.get("hard", 0) + by_kind.get("soft", 0),
        "complained": by_kind.get("complaint", 0),
    }
