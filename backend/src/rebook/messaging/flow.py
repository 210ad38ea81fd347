"""A messaging campaign's life, in the order it happens:

  request_send   draft | cancelled → sending (now) or scheduled; its start job is deferred
                 in the same transaction (moved by `reschedule` when the time is edited);
  start_campaign the start job: scheduled → sending, and the batch jobs planned;
  (batches)      `dispatch.run_batch` claims and sends chunks until none is left;
  after_batch    after each batch: the retries planned, or the campaign finished
                 (sent, partially_failed or failed);
  stop_whatsapp  the provider refused the campaign's template: its WhatsApp messages fail;
  cancel         scheduled | sending → cancelled: what is sent stays sent;
  retry_failed   a finished campaign's failed messages sent again.

Every change of a campaign's status is here; what a send needs first is `send_checks`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.config import Settings
from rebook.db import session_scope
from rebook.deliverability import holds
from rebook.delivery import queue, reasons
from rebook.errors import Conflict, InvalidInput
from rebook.messaging import content, recipient_selection, send_checks
from rebook.messaging.audiences import service as audiences
from rebook.messaging.schemas import MessagingConfig
from rebook.models import (
    AuditActor,
    Campaign,
    CampaignDelivery,
    CampaignStatus,
    Channel,
    DeliveryStatus,
    User,
)
from rebook.request_context import Origin
from rebook.whatsapp import service as whatsapp_templates

log = logging.getLogger("rebook.delivery")


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
    send_checks.ensure_messaging(campaign)
    if campaign.status not in send_checks.SENDABLE_STATUSES:
        raise Conflict(
            f"This campaign is already {campaign.status.value.replace('_', ' ')}; "
            "it can only be sent once."
        )
    cfg = await content.load(session, campaign)
    await send_checks.ensure_emails_not_held(session, campaign, cfg, settings)
    if "whatsapp" in cfg.channels and cfg.whatsapp_content_sid:
        await whatsapp_templates.sendable_template(session, settings, cfg.whatsapp_content_sid)
    now = now or datetime.now(UTC)
    has_recipients = await recipient_selection.has_any(session, campaign.id)
    # The schedule has its own field error (below); every other check is named here.
    problems = [
        c.detail
        for c in send_checks.checks(
            cfg, int(has_recipients), settings, send_immediately=True, now=now
        )
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
        when = send_checks.check_time(cfg.scheduled_send_time, now)
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
        recipients=await recipient_selection.count(session, campaign.id),
        deliveries=await send_checks.delivery_counts(session, campaign.id),
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


async def reschedule(session: AsyncSession, campaign: Campaign, cfg: MessagingConfig) -> None:
    """Move a scheduled campaign's start job to its new time (earlier or later), in the
    caller's transaction; the job left at the old time is removed."""
    if campaign.status == CampaignStatus.scheduled:
        await queue.schedule_start(session, campaign.id, cfg.scheduled_send_time)


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
        await recipient_selection.prepare_deliveries(session, campaign)
        # The campaign's audience is checked again now (ADR 021); consent per message later.
        await audiences.skip_no_longer_matching(session, campaign, now)
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


async def cancel(session: AsyncSession, owner: User, campaign: Campaign, origin: Origin) -> int:
    """Stop a scheduled or sending campaign: what is sent stays sent, the rest is cancelled.
    Returns how many messages were already on their way to the provider: those may still
    arrive; no other call of this campaign starts once this transaction has committed.

    A worker commits a call's start only while the campaign is sending, under a share lock on
    its row (the journal's write); this lock on the row waits for those under way and
    makes every later start wait for this transaction, and see the campaign cancelled."""
    send_checks.ensure_messaging(campaign)
    await session.refresh(campaign, ["status"], with_for_update=True)
    if campaign.status not in send_checks.CANCELLABLE_STATUSES:
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
            "deliveries": await send_checks.delivery_counts(session, campaign.id),
        },
        origin=origin,
    )
    return under_way or 0


async def retry_failed(
    session: AsyncSession, owner: User, campaign: Campaign, origin: Origin
) -> int:
    """Put the failed deliveries of a finished campaign back in the queue."""
    send_checks.ensure_messaging(campaign)
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
