"""Campaign statistics, read from the trigger-kept counters (a handful of rows however large
the campaign), so they are exact and cheap."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.config import Settings
from rebook.deliverability import service as bounces
from rebook.messaging import recipient_selection
from rebook.messaging.schemas import ChannelName, ChannelStats, MessagingStatsResponse, StatusCounts
from rebook.models import (
    Campaign,
    CampaignDelivery,
    CampaignDeliveryCount,
    Channel,
    DeliveryStatus,
)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _counts(by_status: dict[str, int]) -> dict[str, int | float]:
    sent = by_status.get(DeliveryStatus.sent, 0)
    failed = by_status.get(DeliveryStatus.failed, 0)
    pending = by_status.get(DeliveryStatus.pending, 0) + by_status.get(DeliveryStatus.sending, 0)
    skipped = by_status.get(DeliveryStatus.skipped, 0)
    cancelled = by_status.get(DeliveryStatus.cancelled, 0)
    total = sent + failed + pending + skipped + cancelled
    return {
        "total": total,
        "sent": sent,
        "failed": failed,
        "pending": pending,
        "skipped": skipped,
        "cancelled": cancelled,
        "sent_percent": _percent(sent, total),
        "failed_percent": _percent(failed, total),
        "pending_percent": _percent(pending, total),
        "skipped_percent": _percent(skipped, total),
        "delivery_rate": _percent(sent, sent + failed),
    }


def price_per_message(channel: str, settings: Settings) -> Decimal:
    if channel == Channel.whatsapp:
        return settings.whatsapp_price_per_message
    return settings.email_price_per_message


async def campaign_stats(
    session: AsyncSession, campaign: Campaign, settings: Settings
) -> MessagingStatsResponse:
    rows = (
        await session.execute(
            select(
                CampaignDeliveryCount.channel,
                CampaignDeliveryCount.status,
                CampaignDeliveryCount.count,
                CampaignDeliveryCount.cost,
            ).where(CampaignDeliveryCount.campaign_id == campaign.id)
        )
    ).all()
    by_channel: dict[str, dict[str, int]] = {}
    cost = Decimal(0)
    for channel, status, count, channel_cost in rows:
        by_channel.setdefault(channel, {})[status] = int(count)
        cost += channel_cost
    chosen = (campaign.config or {}).get("channels", [])
    # Bounces and complaints are email's alone.
    email_reports = await bounces.campaign_counts(session, campaign.id)
    channels: list[ChannelStats] = []
    overall: dict[str, int] = {}
    estimated = Decimal(0)
    for channel in sorted(set(chosen) | set(by_channel)):
        statuses = by_channel.get(channel, {})
        for status, count in statuses.items():
            overall[status] = overall.get(status, 0) + count
        counts = _counts(statuses)
        channel_name: ChannelName = "email" if channel == Channel.email else "whatsapp"
        reported = email_reports if channel_name == "email" else {}
        channels.append(ChannelStats(channel=channel_name, **counts, **reported))
        billable = int(counts["sent"]) + int(counts["pending"]) + int(counts["failed"])
        estimated += billable * price_per_message(channel, settings)
    duplicates = await session.scalar(
        select(func.count())
        .select_from(CampaignDelivery)
        .where(CampaignDelivery.campaign_id == campaign.id, CampaignDelivery.possible_duplicate)
    )
    total_recipients = await recipient_selection.count(session, campaign.id)
    summary = StatusCounts(**_counts(overall), **email_reports)
    return MessagingStatsResponse(
        **summary.model_dump(),
        campaign_id=campaign.id,
        status=campaign.status.value,
        total_recipients=total_recipients,
        possible_duplicates=int(duplicates or 0),
        cost=cost,
        estimated_cost=estimated,
        currency=settings.price_currency,
        channels=channels,
    )
