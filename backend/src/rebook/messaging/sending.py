"""Sending and scheduling: the checks a campaign must pass before it may leave, and its state
changes (draft → scheduled | sending; scheduled → cancelled). A scheduled campaign's start job
is deferred at its time and moved with it when the time is edited."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.config import Settings
from rebook.deliverability import holds
from rebook.delivery import queue
from rebook.errors import Conflict, InvalidInput
from rebook.messaging import content
from rebook.messaging import recipients as recipients_service
from rebook.messaging.schemas import ChannelName, MessagingConfig
from rebook.messaging.stats import price_per_message
from rebook.models import (
    AuditActor,
    Campaign,
    CampaignDelivery,
    CampaignDeliveryCount,
    CampaignRecipient,
    CampaignStatus,
    CampaignType,
    DeliveryStatus,
    User,
    WhatsAppServiceWindow,
)
from rebook.request_context import Origin
from rebook.whatsapp import service as whatsapp_templates
from rebook.whatsapp import windows

# Why a delivery did not go; also written by the worker for calls caught by the cancel.
CANCELLED_MESSAGE = "Not sent: the campaign was cancelled."

# A campaign in these states may be (re)sent or scheduled.
SENDABLE_STATUSES = (CampaignStatus.draft, CampaignStatus.cancelled)


class WhatsAppSplit(BaseModel):
    """WhatsApp's 24-hour rule applied to the deliverable messages, as the windows stand
    now (checked again as each message leaves)."""

    free_text: int
    template: int
    skipped_outside_window: int


class ChannelSummary(BaseModel):
    channel: ChannelName
    deliverable: int
    skipped_missing_contact: int
    estimated_cost: Decimal
    whatsapp: WhatsAppSplit | None = None


class SendSummary(BaseModel):
    recipients: int
    channels: list[ChannelSummary]
    estimated_cost: Decimal
    place_timezones: list[str]


def ensure_messaging(campaign: Campaign) -> None:
    if campaign.campaign_type != CampaignType.messaging:
        raise InvalidInput(
            f"Only messaging campaigns can be sent; this is a "
            f"{campaign.campaign_type.value.replace('_', ' ')} campaign."
        )


def _check_content(cfg: MessagingConfig) -> None:
    problems = []
    if "email" in cfg.channels and not (cfg.email_subject and (cfg.email_body or "").strip()):
        problems.append("email needs a subject and a message")
    if "whatsapp" in cfg.channels and not (
        (cfg.whatsapp_message or "").strip() or cfg.whatsapp_content_sid
    ):
        problems.append("WhatsApp needs a message or an approved template")
    if problems:
        raise InvalidInput(f"Not ready to send: {'; '.join(problems)}.")


def _check_time(when: datetime | None, now: datetime) -> datetime:
    if when is None:
        raise InvalidInput("scheduled_send_time: choose when to send, or send immediately.")
    if when <= now:
        raise InvalidInput(
            f"scheduled_send_time: {when.isoformat()} is in the past; choose a later time."
        )
    return when


def check_scheduled_edit(cfg: MessagingConfig, now: datetime | None = None) -> None:
    """An edit of a scheduled campaign must leave it ready to go at a time still to come."""
    _check_content(cfg)
    if cfg.scheduled_send_time is None:
        raise InvalidInput(
            "scheduled_send_time: this campaign is scheduled; choose a time, or cancel the "
            "schedule first."
        )
    _check_time(cfg.scheduled_send_time, now or datetime.now(UTC))


async def reschedule(session: AsyncSession, campaign: Campaign, cfg: MessagingConfig) -> None:
    """Move a scheduled campaign's start job to its new time (earlier or later), in the
    caller's transaction; the job left at the old time is removed."""
    if campaign.status == CampaignStatus.scheduled:
        await queue.schedule_start(session, campaign.id, cfg.scheduled_send_time)


async def delivery_counts(session: AsyncSession, campaign_id: int) -> dict[str, dict[str, int]]:
    """Deliveries per channel and status, from the exact counters."""
    rows = (
        await session.execute(
            select(
                CampaignDeliveryCount.channel,
                CampaignDeliveryCount.status,
                CampaignDeliveryCount.count,
            ).where(CampaignDeliveryCount.campaign_id == campaign_id)
        )
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        if count:
            counts.setdefault(channel, {})[status] = int(count)
    return counts


async def ensure_emails_not_held(
    session: AsyncSession, campaign: Campaign, cfg: MessagingConfig, settings: Settings
) -> None:
    """An owner whose emails are held (complaint rate) cannot send or schedule email."""
    if "email" not in cfg.channels:
        return
    hold = await holds.open_hold(session, campaign.owner_id)
    if hold is not None:
        raise Conflict(holds.held_message(hold, settings))


async def request_send(
    session: AsyncSession,
    owner: User,
    campaign: Campaign,
    send_immediately: bool,
    origin: Origin,
    settings: Settings,
    now: datetime | None = None,
) -> MessagingConfig:
    """Check everything and move the campaign to `sending` or `scheduled`. The caller defers
    the delivery job in the same transaction."""
    ensure_messaging(campaign)
    if campaign.status not in SENDABLE_STATUSES:
        raise Conflict(
            f"This campaign is already {campaign.status.value.replace('_', ' ')}; "
            "it can only be sent once."
        )
    cfg = await content.load(session, campaign)
    _check_content(cfg)
    await ensure_emails_not_held(session, campaign, cfg, settings)
    if "whatsapp" in cfg.channels and cfg.whatsapp_content_sid:
        await whatsapp_templates.sendable_template(session, settings, cfg.whatsapp_content_sid)
    if not await recipients_service.has_any(session, campaign.id):
        raise InvalidInput("Not ready to send: add at least one recipient.")
    now = now or datetime.now(UTC)
    previous = campaign.status
    details: dict[str, object] = {}
    if send_immediately:
        campaign.status = CampaignStatus.sending
        action = "campaign.sent"
    else:
        when = _check_time(cfg.scheduled_send_time, now)
        campaign.status = CampaignStatus.scheduled
        action, details = "campaign.scheduled", {"scheduled_send_time": when.isoformat()}
    campaign.config = {**campaign.config, "send_immediately": send_immediately}
    # Deliveries cancelled by an earlier cancel are pending again.
    await session.execute(
        update(CampaignDelivery)
        .where(
            CampaignDelivery.campaign_id == campaign.id,
            CampaignDelivery.status == DeliveryStatus.cancelled,
        )
        .values(status=DeliveryStatus.pending.value, error_code=None, error_message=None)
    )
    await session.flush()
    # The start job commits with this transaction: no job without the state, nor the reverse.
    await queue.schedule_start(
        session, campaign.id, None if send_immediately else cfg.scheduled_send_time
    )
    details.update(
        channels=list(cfg.channels),
        recipients=await recipients_service.count(session, campaign.id),
        deliveries=await delivery_counts(session, campaign.id),
    )
    if previous != CampaignStatus.draft:
        details["previous_status"] = previous.value
    await audit.record(
        session,
        action,
        owner_id=owner.id,
        campaign_id=campaign.id,
        details=details,
        origin=origin,
    )
    return cfg


async def cancel(session: AsyncSession, owner: User, campaign: Campaign, origin: Origin) -> int:
    """Stop a scheduled or sending campaign: what is sent stays sent, the rest is cancelled.
    Returns how many messages were already on their way to the provider: those may still
    arrive; no other call of this campaign starts once this transaction has committed.

    A worker commits a call's start only while the campaign is sending, under a share lock on
    its row (`delivery_journal()`); this lock on the row waits for those under way and
    makes every later start wait for this transaction, and see the campaign cancelled."""
    ensure_messaging(campaign)
    await session.refresh(campaign, ["status"], with_for_update=True)
    if campaign.status not in (CampaignStatus.scheduled, CampaignStatus.sending):
        raise Conflict(
            f"Only a scheduled or sending campaign can be cancelled; this one is "
            f"{campaign.status.value.replace('_', ' ')}."
        )
    previous = campaign.status
    campaign.status = CampaignStatus.cancelled
    await queue.cancel_waiting(session, campaign.id)
    delivery = CampaignDelivery
    not_started = delivery.status == DeliveryStatus.sending, delivery.provider_call_at.is_(None)
    cancelled = await session.execute(
        update(delivery)
        .where(
            delivery.campaign_id == campaign.id,
            or_(delivery.status == DeliveryStatus.pending, and_(*not_started)),
        )
        .values(
            status=DeliveryStatus.cancelled.value,
            # A claimed delivery that never started gives its attempt back.
            attempts=case((and_(*not_started), delivery.attempts - 1), else_=delivery.attempts),
            error_code="cancelled",
            error_message=CANCELLED_MESSAGE,
        )
    )
    under_way = await session.scalar(
        select(func.count())
        .select_from(delivery)
        .where(
            delivery.campaign_id == campaign.id,
            delivery.status == DeliveryStatus.sending,
            delivery.provider_call_at.is_not(None),
        )
    )
    await session.flush()
    await audit.record(
        session,
        "campaign.cancelled",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details={
            "previous_status": previous.value,
            "cancelled": cancelled.rowcount,  # type: ignore[attr-defined]
            "messages_under_way": under_way or 0,
            # What was already sent stays sent; `sending` ones were in flight at the cancel.
            "deliveries": await delivery_counts(session, campaign.id),
        },
        origin=origin,
    )
    return under_way or 0


async def retry_failed(
    session: AsyncSession, owner: User, campaign: Campaign, origin: Origin
) -> int:
    """Put the failed deliveries of a finished campaign back in the queue."""
    ensure_messaging(campaign)
    if campaign.status not in (CampaignStatus.sent, CampaignStatus.partially_failed):
        raise Conflict(
            "Failed messages can be retried once the campaign has finished sending; this one is "
            f"{campaign.status.value.replace('_', ' ')}."
        )
    result = await session.execute(
        update(CampaignDelivery)
        .where(
            CampaignDelivery.campaign_id == campaign.id,
            CampaignDelivery.status == DeliveryStatus.failed,
        )
        .values(
            status=DeliveryStatus.pending.value,
            earlier_attempts=CampaignDelivery.earlier_attempts + CampaignDelivery.attempts,
            attempts=0,
            next_attempt_at=None,
            error_code=None,
            error_message=None,
        )
        .returning(CampaignDelivery.channel)
    )
    per_channel: dict[str, int] = {}
    for (channel,) in result.all():
        per_channel[channel] = per_channel.get(channel, 0) + 1
    retried = sum(per_channel.values())
    if retried == 0:
        raise Conflict("This campaign has no failed messages to retry.")
    campaign.status = CampaignStatus.sending
    await session.flush()
    await queue.schedule_start(session, campaign.id, None)
    await audit.record(
        session,
        "campaign.retry_failed",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details={"count": retried, "channels": per_channel},
        origin=origin,
    )
    return retried


async def _inside_window(session: AsyncSession, campaign_id: int, now: datetime) -> int:
    """The campaign's WhatsApp messages still to send whose customer's window is open."""
    d, r, w = CampaignDelivery, CampaignRecipient, WhatsAppServiceWindow
    inside = await session.scalar(
        select(func.count())
        .select_from(d)
        .join(r, r.id == d.recipient_id)
        .join(w, w.phone_e164 == r.customer_phone_e164)
        .where(
            d.campaign_id == campaign_id,
            d.channel == "whatsapp",
            d.status.in_([DeliveryStatus.pending, DeliveryStatus.cancelled]),
            w.last_inbound_at > windows.open_since(now),
        )
    )
    return inside or 0


async def summary(
    session: AsyncSession, campaign: Campaign, settings: Settings, now: datetime | None = None
) -> SendSummary:
    counts = await delivery_counts(session, campaign.id)
    chosen = (campaign.config or {}).get("channels", [])
    per_channel = {channel: counts.get(channel, {}) for channel in chosen}
    channels = []
    for channel, statuses in sorted(per_channel.items()):
        deliverable = statuses.get(DeliveryStatus.pending, 0) + statuses.get(
            DeliveryStatus.cancelled, 0
        )
        split = None
        if channel == "whatsapp" and deliverable:
            cfg = await content.load(session, campaign)
            counted = windows.split(
                has_text=bool(cfg.whatsapp_message),
                has_template=bool(cfg.whatsapp_content_sid),
                total=deliverable,
                inside=await _inside_window(session, campaign.id, now or datetime.now(UTC)),
            )
            split = WhatsAppSplit(
                free_text=counted[windows.Content.text],
                template=counted[windows.Content.template],
                skipped_outside_window=counted[None],
            )
            deliverable -= split.skipped_outside_window
        cost = deliverable * price_per_message(channel, settings)
        channels.append(
            ChannelSummary(
                channel=channel,
                deliverable=deliverable,
                skipped_missing_contact=statuses.get(DeliveryStatus.skipped, 0),
                estimated_cost=cost,
                whatsapp=split,
            )
        )
    return SendSummary(
        recipients=await recipients_service.count(session, campaign.id),
        channels=channels,
        estimated_cost=sum((c.estimated_cost for c in channels), Decimal(0)),
        place_timezones=sorted({p.timezone for p in campaign.places}),
    )


async def stop_whatsapp(
    session: AsyncSession,
    campaign_id: int,
    code: str,
    message: str,
    by: AuditActor = AuditActor.worker,
) -> int:
    """The campaign's WhatsApp messages not yet sent fail with `message`: the provider said
    every one of them would (its template paused or disabled by Meta, the sender's account
    disabled). Email goes on. Returns how many were stopped; the first stop is recorded in
    the campaign's history."""
    stopped = await session.execute(
        update(CampaignDelivery)
        .where(
            CampaignDelivery.campaign_id == campaign_id,
            CampaignDelivery.channel == "whatsapp",
            CampaignDelivery.status == DeliveryStatus.pending,
        )
        .values(status=DeliveryStatus.failed.value, error_code=code, error_message=message)
    )
    count: int = stopped.rowcount  # type: ignore[attr-defined]
    if count:
        owner_id = await session.scalar(select(Campaign.owner_id).where(Campaign.id == campaign_id))
        await audit.record(
            session,
            "campaign.whatsapp_stopped",
            owner_id=owner_id,
            campaign_id=campaign_id,
            by_system=True,
            actor=by,
            details={"code": code, "reason": message, "stopped": count},
        )
    await session.flush()
    return count
