"""Before a campaign leaves: the checks it must pass, each in the owner's words, and the send
summary the wizard shows (recipients per channel, skipped ones, estimated cost, WhatsApp's
24-hour split). `flow.request_send` refuses what fails here."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parseaddr
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.config import Settings
from rebook.deliverability import holds
from rebook.errors import Conflict, InvalidInput
from rebook.messaging import content, recipient_selection
from rebook.messaging.schemas import ChannelName, MessagingConfig
from rebook.messaging.stats import price_per_message
from rebook.models import (
    Campaign,
    CampaignDelivery,
    CampaignDeliveryCount,
    CampaignRecipient,
    CampaignStatus,
    CampaignType,
    DeliveryStatus,
    WhatsAppServiceWindow,
)
from rebook.whatsapp import windows

# A campaign in these states may be (re)sent or scheduled.
SENDABLE_STATUSES = (CampaignStatus.draft, CampaignStatus.cancelled)
# A campaign in these states moves on its own until it is cancelled.
CANCELLABLE_STATUSES = (CampaignStatus.scheduled, CampaignStatus.sending)


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


def check_time(when: datetime | None, now: datetime) -> datetime:
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
    check_time(cfg.scheduled_send_time, now or datetime.now(UTC))


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
    recipients = await recipient_selection.count(session, campaign.id)
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
