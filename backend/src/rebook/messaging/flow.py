"""Sending and scheduling: the checks a campaign must pass before it may leave, and its state
changes (draft → scheduled | sending; scheduled → cancelled). A scheduled campaign's start job
is deferred at its time and moved with it when the time is edited."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parseaddr
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.config import Settings
from rebook.db import session_scope
from rebook.deliverability import holds
from rebook.delivery import queue, reasons
from rebook.errors import Conflict, InvalidInput
from rebook.messaging import content
from rebook.messaging import recipient_selection as recipients_service
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
    Channel,
    DeliveryStatus,
    User,
    WhatsAppServiceWindow,
)
from rebook.request_context import Origin
from rebook.whatsapp import service as whatsapp_templates
from rebook.whatsapp import windows

log = logging.getLogger("rebook.delivery")

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


CheckKey = Literal["audience", "sender", "subject", "content", "schedule"]


class SendCheck(BaseModel):
    """One thing a campaign needs before it may leave, as the owner reads it."""

    key: CheckKey
    ok: bool
    label: str
    detail: str = Field(description="What is there, or what is missing, in an owner's words.")


class SendSummary(BaseModel):
    recipients: int
    channels: list[ChannelSummary]
    estimated_cost: Decimal
    currency: str = Field(description="The currency of the costs (ISO 4217).")
    place_timezones: list[str]
    checks: list[SendCheck] = Field(
        description="Everything sending needs, for the way asked (now or at the saved time)."
    )
    can_send: bool = Field(description="Every check holds: the send would be accepted.")


def ensure_messaging(campaign: Campaign) -> None:
    if campaign.campaign_type != CampaignType.messaging:
        raise InvalidInput(
            f"Only messaging campaigns can be sent; this is a "
            f"{campaign.campaign_type.value.replace('_', ' ')} campaign."
        )


def _content_problems(cfg: MessagingConfig) -> list[str]:
    problems = []
    if "email" in cfg.channels and not (cfg.email_body or "").strip():
        problems.append("email needs a message")
    if "whatsapp" in cfg.channels and not (
        (cfg.whatsapp_message or "").strip() or cfg.whatsapp_content_sid
    ):
        problems.append("WhatsApp needs a message or an approved template")
    return problems


def _subject_problem(cfg: MessagingConfig) -> str | None:
    if "email" in cfg.channels and not (cfg.email_subject or "").strip():
        return "email needs a subject"
    return None


def _time_problem(when: datetime | None, now: datetime) -> str | None:
    if when is None:
        return "choose when to send, or send immediately"
    if when <= now:
        return f"{when.isoformat()} is in the past; choose a later time"
    return None


def _check_content(cfg: MessagingConfig) -> None:
    problems = [p for p in (_subject_problem(cfg), *_content_problems(cfg)) if p]
    if problems:
        raise InvalidInput(f"Not ready to send: {'; '.join(problems)}.")


def _check_time(when: datetime | None, now: datetime) -> datetime:
    problem = _time_problem(when, now)
    if problem:
        raise InvalidInput(f"scheduled_send_time: {problem}.")
    assert when is not None
    return when


def _sender(cfg: MessagingConfig, settings: Settings) -> tuple[bool, str]:
    parts = []
    ok = True
    if "email" in cfg.channels:
        address = parseaddr(settings.email_from)[1]
        parts.append(f"Email from your place's name <{address}>")
    if "whatsapp" in cfg.channels:
        if settings.whatsapp_backend == "outbox":
            parts.append("WhatsApp kept in the Outbox (nothing leaves)")
        elif settings.twilio_whatsapp_number:
            parts.append(
                f"WhatsApp from {settings.twilio_whatsapp_number.removeprefix('whatsapp:')}"
            )
        else:
            ok = False
            parts.append("no WhatsApp sender is configured (TWILIO_WHATSAPP_NUMBER)")
    return ok, "; ".join(parts) or "choose a channel"


def _when(cfg: MessagingConfig) -> str:
    assert cfg.scheduled_send_time is not None
    zone = cfg.scheduled_time_zone or "UTC"
    local = cfg.scheduled_send_time.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %Y, %H:%M} ({zone})"


def checks(
    cfg: MessagingConfig,
    recipients: int,
    settings: Settings,
    *,
    send_immediately: bool,
    now: datetime,
) -> list[SendCheck]:
    """Everything a send needs, each with what is there or missing: the send refuses what
    fails here, and the wizard shows the same list before the owner confirms."""
    subject_problem = _subject_problem(cfg)
    content_problems = _content_problems(cfg)
    sender_ok, sender = _sender(cfg, settings)
    time_problem = None if send_immediately else _time_problem(cfg.scheduled_send_time, now)
    result = [
        SendCheck(
            key="audience",
            ok=recipients > 0,
            label="Audience",
            detail=f"{recipients:,} customer{'s' if recipients != 1 else ''}"
            if recipients
            else "add at least one recipient",
        ),
        SendCheck(key="sender", ok=sender_ok, label="Sender", detail=sender),
    ]
    if "email" in cfg.channels:
        result.append(
            SendCheck(
                key="subject",
                ok=subject_problem is None,
                label="Subject",
                detail=subject_problem or (cfg.email_subject or ""),
            )
        )
    result += [
        SendCheck(
            key="content",
            ok=not content_problems,
            label="Content",
            detail="; ".join(content_problems)
            or " and ".join("email" if c == "email" else "WhatsApp" for c in cfg.channels)
            + " written",
        ),
        SendCheck(
            key="schedule",
            ok=time_problem is None,
            label="Schedule",
            detail="now, when you confirm" if send_immediately else time_problem or _when(cfg),
        ),
    ]
    return result


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
    await ensure_emails_not_held(session, campaign, cfg, settings)
    if "whatsapp" in cfg.channels and cfg.whatsapp_content_sid:
        await whatsapp_templates.sendable_template(session, settings, cfg.whatsapp_content_sid)
    now = now or datetime.now(UTC)
    has_recipients = await recipients_service.has_any(session, campaign.id)
    # The schedule has its own field error (below); every other check is named here.
    problems = [
        c.detail
        for c in checks(cfg, int(has_recipients), settings, send_immediately=True, now=now)
        if not c.ok
    ]
    if problems:
        raise InvalidInput(f"Not ready to send: {'; '.join(problems)}.")
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
            error_code=reasons.CANCELLED.code,
            error_message=reasons.CANCELLED.message,
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
    if campaign.status not in (
        CampaignStatus.sent,
        CampaignStatus.partially_failed,
        CampaignStatus.failed,
    ):
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
    session: AsyncSession,
    campaign: Campaign,
    settings: Settings,
    *,
    send_immediately: bool | None = None,
    now: datetime | None = None,
) -> SendSummary:
    """What sending would do, and whether it may: `send_immediately` None reads the way the
    campaign was last saved (now, or at its scheduled time)."""
    cfg = await content.load(session, campaign)
    if send_immediately is None:
        send_immediately = cfg.send_immediately
    now = now or datetime.now(UTC)
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
            counted = windows.split(
                has_text=bool(cfg.whatsapp_message),
                has_template=bool(cfg.whatsapp_content_sid),
                total=deliverable,
                inside=await _inside_window(session, campaign.id, now),
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
    recipients = await recipients_service.count(session, campaign.id)
    found = checks(
        cfg,
        recipients,
        settings,
        send_immediately=send_immediately,
        now=now,
    )
    return SendSummary(
        recipients=recipients,
        channels=channels,
        estimated_cost=sum((c.estimated_cost for c in channels), Decimal(0)),
        currency=settings.price_currency,
        place_timezones=sorted({p.timezone for p in campaign.places}),
        checks=found,
        can_send=all(c.ok for c in found) and campaign.status in SENDABLE_STATUSES,
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


async def start_campaign(campaign_id: int, settings: Settings, now: datetime | None = None) -> None:
    """Move a due scheduled campaign to sending and plan its batch jobs."""
    now = now or datetime.now(UTC)
    async with session_scope() as session:
        campaign = await session.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None:
            return
        if campaign.status == CampaignStatus.scheduled:
            when = (await content.load(session, campaign)).scheduled_send_time
            if when is not None and when > now:
                return  # rescheduled later; that job will start it
            campaign.status = CampaignStatus.sending
            await audit.record(
                session,
                "campaign.sending_started",
                owner_id=campaign.owner_id,
                campaign_id=campaign.id,
                by_system=True,
            )
        if campaign.status != CampaignStatus.sending:
            return
        # Recipients get their deliveries when added; any still without one gets it now.
        await recipients_service.prepare_deliveries(session, campaign)
        await session.flush()
        counts = await _open_counts(session, campaign_id)
        batches = max(
            1,
            min(
                settings.delivery_parallel_batches,
                -(-counts["pending"] // settings.delivery_batch_size),
            ),
        )
        for slot in range(batches):
            await queue.defer(
                session,
                queue.BATCH_TASK,
                {"campaign_id": campaign_id, "slot": slot},
                queueing_lock=queue.batch_lock(campaign_id, slot),
            )


async def _open_counts(
    session: Any, campaign_id: int, without_channel: str | None = None
) -> dict[str, int]:
    rows = (
        await session.execute(
            text(
                "SELECT status, sum(count)::bigint FROM campaign_delivery_counts "
                "WHERE campaign_id = :id AND channel IS DISTINCT FROM :without GROUP BY status"
            ),
            {"id": campaign_id, "without": without_channel},
        )
    ).all()
    counts = {status: int(n) for status, n in rows}
    return {
        "pending": counts.get("pending", 0),
        "sending": counts.get("sending", 0),
        "failed": counts.get("failed", 0),
        "sent": counts.get("sent", 0),
    }


async def after_batch(campaign_id: int) -> None:
    """Plan the retries that are waiting, or mark the campaign finished when nothing is
    pending or in flight any more."""
    async with session_scope() as session:
        campaign = await session.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None or campaign.status != CampaignStatus.sending:
            return
        held = await holds.is_held(session, campaign.owner_id)
        # Held emails wait for the hold to be lifted, which plans their batches again.
        counts = await _open_counts(session, campaign_id, Channel.email if held else None)
        if held and counts["pending"] == 0 and counts["sending"] == 0:
            counts = await _open_counts(session, campaign_id)
            if counts["pending"]:
                return
        if counts["pending"]:
            next_try = await session.scalar(
                text(
                    # A delivery without a retry time (sent back by recovery) is due now.
                    "SELECT min(coalesce(next_attempt_at, clock_timestamp())) "
                    "FROM campaign_deliveries WHERE campaign_id = :id AND status = 'pending' "
                    "AND channel IS DISTINCT FROM :without"
                ),
                {"id": campaign_id, "without": Channel.email.value if held else None},
            )
            await queue.defer(
                session,
                queue.BATCH_TASK,
                {"campaign_id": campaign_id, "slot": 0},
                queueing_lock=queue.batch_lock(campaign_id, 0),
                scheduled_at=next_try,
            )
            return
        if counts["sending"]:
            return  # another batch is finishing; it will close the campaign
        campaign.status = (
            (CampaignStatus.partially_failed if counts["sent"] else CampaignStatus.failed)
            if counts["failed"]
            else CampaignStatus.sent
        )
        await audit.record(
            session,
            "campaign.finished",
            owner_id=campaign.owner_id,
            campaign_id=campaign.id,
            by_system=True,
            details={"status": campaign.status.value},
        )
        log.info(
            "campaign finished",
            extra={"campaign_id": campaign_id, "status": campaign.status.value},
        )
