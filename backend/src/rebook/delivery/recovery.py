"""What a worker killed mid-send leaves behind, and how it is mended (run at worker start and
every minute).

- Deliveries left `sending` for DELIVERY_STALE_AFTER_SECONDS, unrenewed (a live worker
  renews those it holds: `lease.py`), belong to a dead worker. Each is looked up at the
  provider (Twilio: by its callback; outbox: by its row); found → `sent`; not found →
  `pending` again. Where the provider cannot be asked (SMTP), it is sent again and flagged
  `possible_duplicate`, counted in the stats — never hidden.
- procrastinate jobs of dead workers (no heartbeat) are retried.
- Due campaigns and sending campaigns without a waiting job get one (idempotent)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from rebook.channels.base import OutgoingWhatsApp, SendResult
from rebook.channels.outbox import OutboxEmailSender, find_stored
from rebook.config import Settings
from rebook.db import session_scope
from rebook.delivery import queue
from rebook.delivery.calls import Senders

log = logging.getLogger("rebook.delivery")

STALE = text(
    """
    SELECT d.id, d.campaign_id, d.channel, d.updated_at, d.provider_call_at, c.owner_id,
           r.customer_phone_e164 AS phone_e164
    FROM campaign_deliveries d
    JOIN campaigns c ON c.id = d.campaign_id
    JOIN campaign_recipients r ON r.id = d.recipient_id
    WHERE d.status = 'sending' AND d.updated_at < :before
    ORDER BY d.id
    LIMIT 1000
    """
)


async def _look_up(senders: Senders, row: Any, since: datetime) -> SendResult | bool | None:
    """The provider's record of this delivery; None if it has none; False if it cannot say."""
    if row.channel == "whatsapp":
        probe = OutgoingWhatsApp(
            delivery_id=row.id,
            owner_id=row.owner_id,
            to_e164=row.phone_e164 or "",
            body=None,
            content_sid=None,
            content_variables=None,
        )
        return await senders.whatsapp.find_sent(probe, since)
    if isinstance(senders.email, OutboxEmailSender):
        return await find_stored(row.id)
    return False


async def resolve_stale_deliveries(engine: AsyncEngine, senders: Senders) -> int:
    settings = senders.settings
    before = datetime.now(UTC) - timedelta(seconds=settings.delivery_stale_after_seconds)
    async with engine.connect() as conn:
        rows = (await conn.execute(STALE, {"before": before})).all()
    for row in rows:
        if row.provider_call_at is None:
            # Claimed, never handed to the provider: queue it again, nothing can have left.
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE campaign_deliveries SET status = 'pending', "
                        "attempts = greatest(attempts - 1, 0) "
                        "WHERE id = :id AND status = 'sending'"
                    ),
                    {"id": row.id},
                )
            continue
        # The message, if it left, left after its provider call began.
        since = row.provider_call_at - timedelta(minutes=1)
        found = await _look_up(senders, row, since)
        async with engine.begin() as conn:
            if isinstance(found, SendResult):
                await conn.execute(
                    text(
                        "UPDATE campaign_deliveries SET status = 'sent', "
                        "provider_message_id = :pid, provider_status = :pst, "
                        "sent_at = coalesce(sent_at, :now), error_code = NULL, "
                        "error_message = NULL WHERE id = :id AND status = 'sending'"
                    ),
                    {
                        "id": row.id,
                        "pid": found.provider_message_id,
                        "pst": found.provider_status,
                        "now": datetime.now(UTC),
                    },
                )
                outcome = "found sent"
            else:
                unknown = found is False
                await conn.execute(
                    text(
                        "UPDATE campaign_deliveries SET status = 'pending', "
                        "possible_duplicate = possible_duplicate OR :unknown, "
                        "error_code = 'interrupted', error_message = :message "
                        "WHERE id = :id AND status = 'sending'"
                    ),
                    {
                        "id": row.id,
                        "unknown": unknown,
                        "message": (
                            "Sent again after an interruption; the first attempt may have "
                            "reached the customer."
                            if unknown
                            else "Sent again after an interruption (the first attempt never left)."
                        ),
                    },
                )
                outcome = "possible duplicate" if unknown else "not sent, retrying"
        log.warning(
            "stale delivery resolved",
            extra={"delivery_id": row.id, "campaign_id": row.campaign_id, "outcome": outcome},
        )
    return len(rows)


async def retry_stalled_jobs(app: procrastinate.App, settings: Settings) -> int:
    stalled = list(
        await app.job_manager.get_stalled_jobs(
            queue=queue.QUEUE,
            seconds_since_heartbeat=max(settings.delivery_stale_after_seconds, 5.0),
        )
    )
    for job in stalled:
        await app.job_manager.retry_job(job)
        log.warning("stalled job retried", extra={"job_id": job.id, "task": job.task_name})
    return len(stalled)


async def plan_missing_jobs(now: datetime | None = None) -> int:
    """Give a start job to every due scheduled campaign and every sending campaign that has
    work but no job waiting or running."""
    now = now or datetime.now(UTC)
    planned = 0
    async with session_scope() as session:
        rows = (
            await session.execute(
                text(
                    """
                    SELECT c.id FROM campaigns c
                    WHERE c.campaign_type = 'messaging'
                      AND ((c.status = 'scheduled'
                            AND (c.config->>'scheduled_send_time')::timestamptz <= :now)
                        OR c.status = 'sending')
                      AND NOT EXISTS (
                        SELECT 1 FROM procrastinate_jobs j
                        WHERE j.queue_name = :queue AND j.status IN ('todo', 'doing')
                          AND (j.args->>'campaign_id')::int = c.id)
                    """
                ),
                {"now": now, "queue": queue.QUEUE},
            )
        ).all()
        for (campaign_id,) in rows:
            await queue.defer(
                session,
                queue.START_TASK,
                {"campaign_id": campaign_id},
                queueing_lock=queue.start_lock(campaign_id),
            )
            planned += 1
    return planned
