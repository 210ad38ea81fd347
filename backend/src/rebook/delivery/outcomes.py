"""Recording what happened to a delivery, each outcome in its own short transaction right
after the provider answered (crash safety: nothing sent is ever forgotten)."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from rebook.channels.base import SendFailure, SendResult
from rebook.config import Settings
from rebook.db import session_scope
from rebook.metrics import DELIVERIES
from rebook.unsubscribe import service as unsubscribe

log = logging.getLogger("rebook.delivery")

_UPDATE = text(
    """
    UPDATE campaign_deliveries
    SET status = :status, provider_message_id = coalesce(:provider_id, provider_message_id),
        provider_status = coalesce(provider_status, :provider_status),
        error_code = :error_code, error_message = :error_message,
        sent_at = coalesce(:sent_at, sent_at), cost = coalesce(:cost, cost),
        next_attempt_at = :next_attempt_at, updated_at = clock_timestamp()
    WHERE id = :id AND status = 'sending'
    """
)


def _log(delivery: Any, outcome: str, **fields: Any) -> None:
    log.info(
        "delivery %s",
        outcome,
        extra={
            "campaign_id": delivery.campaign_id,
            "delivery_id": delivery.id,
            "channel": delivery.channel,
            "outcome": outcome,
            **fields,
        },
    )


async def _write(engine: AsyncEngine, delivery_id: int, **values: Any) -> None:
    params = {
        "id": delivery_id,
        "provider_id": None,
        "provider_status": None,
        "error_code": None,
        "error_message": None,
        "sent_at": None,
        "cost": None,
        "next_attempt_at": None,
        **values,
    }
    async with engine.begin() as conn:
        await conn.execute(_UPDATE, params)


async def provider_call_starts(engine: AsyncEngine, delivery: Any) -> bool:
    """Commit that this delivery's provider call begins; False (and the delivery cancelled) if
    its campaign stopped sending meanwhile."""
    async with engine.begin() as conn:
        started = await conn.scalar(
            text(
                """
                UPDATE campaign_deliveries d SET provider_call_at = clock_timestamp()
                WHERE d.id = :id AND d.status = 'sending' AND EXISTS (
                  SELECT 1 FROM campaigns c WHERE c.id = d.campaign_id AND c.status = 'sending')
                RETURNING d.id
                """
            ),
            {"id": delivery.id},
        )
        if started is None:
            await conn.execute(
                text(
                    "UPDATE campaign_deliveries SET status = 'cancelled', attempts = attempts - 1,"
                    " error_code = 'cancelled', error_message = :message "
                    "WHERE id = :id AND status = 'sending'"
                ),
                {"id": delivery.id, "message": "Not sent: the campaign was cancelled."},
            )
    return started is not None


async def sent(engine: AsyncEngine, delivery: Any, result: SendResult) -> None:
    await _write(
        engine,
        delivery.id,
        status="sent",
        provider_id=result.provider_message_id,
        provider_status=result.provider_status,
        sent_at=datetime.now(UTC),
        cost=result.cost,
    )
    DELIVERIES.labels(delivery.channel, "sent").inc()
    _log(delivery, "sent", provider_message_id=result.provider_message_id)


async def skipped(engine: AsyncEngine, delivery: Any, code: str, message: str) -> None:
    await _write(engine, delivery.id, status="skipped", error_code=code, error_message=message)
    DELIVERIES.labels(delivery.channel, "skipped").inc()
    _log(delivery, "skipped", error_code=code)


def backoff_seconds(attempt: int, settings: Settings, retry_after: float | None) -> float:
    """Exponential backoff with jitter, at least what the provider asked for."""
    base = settings.delivery_retry_base_seconds * (2 ** (attempt - 1))
    delay = min(base, 3600.0) * random.uniform(0.5, 1.5)
    return float(max(delay, retry_after or 0.0))


async def failed(
    engine: AsyncEngine, delivery: Any, failure: SendFailure, settings: Settings
) -> None:
    if failure.suppress:
        # The customer opted out at the provider (WhatsApp STOP): never message them again.
        async with session_scope() as session:
            await unsubscribe.suppress(
                session,
                owner_id=delivery.owner_id,
                user_id=delivery.user_id,
                channel=delivery.channel,
                source=f"provider_{failure.code}",
            )
    if failure.transient and delivery.attempts < settings.delivery_max_attempts:
        delay = backoff_seconds(delivery.attempts, settings, failure.retry_after)
        await _write(
            engine,
            delivery.id,
            status="pending",
            error_code=failure.code,
            error_message=f"Retrying: {failure.message}",
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
        )
        DELIVERIES.labels(delivery.channel, "retried").inc()
        _log(delivery, "retry scheduled", error_code=failure.code, retry_in=round(delay, 1))
        return
    message = failure.message
    if failure.transient:
        message = f"Gave up after {delivery.attempts} attempts: {failure.message}"
    await _write(
        engine, delivery.id, status="failed", error_code=failure.code, error_message=message
    )
    DELIVERIES.labels(delivery.channel, "failed").inc()
    _log(delivery, "failed", error_code=failure.code)
