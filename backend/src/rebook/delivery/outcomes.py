"""Recording what happened to a delivery, each outcome committed right after the provider
answered (crash safety: nothing sent is ever forgotten).

Inside a worker, the engine hands these writes to a group commit (`Writes`): the provider
calls starting, and the outcomes arriving, while one transaction commits are written by the
next one, in a single statement. Every delivery is still committed `sending` with
`provider_call_at` set before its own provider call, and its outcome after it."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rebook.channels.base import SendFailure, SendResult
from rebook.config import Settings
from rebook.db import session_scope
from rebook.delivery.batching import GroupCommit
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


# The same change as _UPDATE for many deliveries at once: one statement (the counters'
# statement trigger runs once), one commit.
_UPDATE_MANY = text(
    """
    UPDATE campaign_deliveries d
    SET status = v.status, provider_message_id = coalesce(v.provider_id, d.provider_message_id),
        provider_status = coalesce(d.provider_status, v.provider_status),
        error_code = v.error_code, error_message = v.error_message,
        sent_at = coalesce(v.sent_at, d.sent_at), cost = coalesce(v.cost, d.cost),
        next_attempt_at = v.next_attempt_at, updated_at = clock_timestamp()
    FROM unnest(CAST(:id AS integer[]), CAST(:status AS text[]), CAST(:provider_id AS text[]),
                CAST(:provider_status AS text[]), CAST(:error_code AS text[]),
                CAST(:error_message AS text[]), CAST(:sent_at AS timestamptz[]),
                CAST(:cost AS numeric[]), CAST(:next_attempt_at AS timestamptz[]))
         AS v(id, status, provider_id, provider_status, error_code, error_message, sent_at,
              cost, next_attempt_at)
    WHERE d.id = v.id AND d.status = 'sending'
    """
)
_COLUMNS = (
    "id",
    "status",
    "provider_id",
    "provider_status",
    "error_code",
    "error_message",
    "sent_at",
    "cost",
    "next_attempt_at",
)


def _row(delivery_id: int, **values: Any) -> dict[str, Any]:
    return {
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


async def write_many(engine: AsyncEngine, rows: list[dict[str, Any]]) -> list[None]:
    """Commit many outcomes in one statement."""
    columns = {name: [row[name] for row in rows] for name in _COLUMNS}
    async with engine.begin() as conn:
        await conn.execute(_UPDATE_MANY, columns)
    return [None] * len(rows)


_STARTS = text(
    """
    UPDATE campaign_deliveries d SET provider_call_at = clock_timestamp()
    WHERE d.id = ANY(CAST(:ids AS integer[])) AND d.status = 'sending' AND EXISTS (
      SELECT 1 FROM campaigns c WHERE c.id = d.campaign_id AND c.status = 'sending')
    RETURNING d.id
    """
)
_CANCEL = text(
    "UPDATE campaign_deliveries SET status = 'cancelled', attempts = attempts - 1,"
    " error_code = 'cancelled', error_message = :message "
    "WHERE id = ANY(CAST(:ids AS integer[])) AND status = 'sending'"
)


async def mark_calls_started(conn: AsyncConnection, delivery_ids: list[int]) -> set[int]:
    """In the caller's transaction: these deliveries' provider calls begin. Returns those that
    may go; the others (their campaign stopped sending meanwhile) are cancelled."""
    started = set((await conn.execute(_STARTS, {"ids": delivery_ids})).scalars())
    stopped = [i for i in delivery_ids if i not in started]
    if stopped:
        await conn.execute(
            _CANCEL, {"ids": stopped, "message": "Not sent: the campaign was cancelled."}
        )
    return started


async def provider_calls_start(engine: AsyncEngine, delivery_ids: list[int]) -> list[bool]:
    """Commit that these deliveries' provider calls begin; False for each (then cancelled)
    whose campaign stopped sending meanwhile."""
    async with engine.begin() as conn:
        started = await mark_calls_started(conn, delivery_ids)
    return [i in started for i in delivery_ids]


class Writes:
    """One worker's group commit of outcomes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.outcomes: GroupCommit[dict[str, Any], None] = GroupCommit(
            lambda rows: write_many(engine, rows)
        )


async def _write(
    engine: AsyncEngine, delivery_id: int, writes: Writes | None = None, **values: Any
) -> None:
    params = _row(delivery_id, **values)
    if writes is not None:
        await writes.outcomes.submit(params)
        return
    async with engine.begin() as conn:
        await conn.execute(_UPDATE, params)


async def provider_call_starts(engine: AsyncEngine, delivery: Any) -> bool:
    """Commit that this delivery's provider call begins; False (and the delivery cancelled) if
    its campaign stopped sending meanwhile."""
    return (await provider_calls_start(engine, [delivery.id]))[0]


async def sent(
    engine: AsyncEngine, delivery: Any, result: SendResult, writes: Writes | None = None
) -> None:
    await _write(
        engine,
        delivery.id,
        writes,
        status="sent",
        provider_id=result.provider_message_id,
        provider_status=result.provider_status,
        sent_at=datetime.now(UTC),
        cost=result.cost,
    )
    DELIVERIES.labels(delivery.channel, "sent").inc()
    _log(delivery, "sent", provider_message_id=result.provider_message_id)


async def skipped(
    engine: AsyncEngine, delivery: Any, code: str, message: str, writes: Writes | None = None
) -> None:
    await _write(
        engine, delivery.id, writes, status="skipped", error_code=code, error_message=message
    )
    DELIVERIES.labels(delivery.channel, "skipped").inc()
    _log(delivery, "skipped", error_code=code)


def backoff_seconds(attempt: int, settings: Settings, retry_after: float | None) -> float:
    """Exponential backoff with jitter, at least what the provider asked for."""
    base = settings.delivery_retry_base_seconds * (2 ** (attempt - 1))
    delay = min(base, 3600.0) * random.uniform(0.5, 1.5)
    return float(max(delay, retry_after or 0.0))


async def failed(
    engine: AsyncEngine,
    delivery: Any,
    failure: SendFailure,
    settings: Settings,
    writes: Writes | None = None,
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
            writes,
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
        engine,
        delivery.id,
        writes,
        status="failed",
        error_code=failure.code,
        error_message=message,
    )
    DELIVERIES.labels(delivery.channel, "failed").inc()
    _log(delivery, "failed", error_code=failure.code)
