"""What happened to a delivery, recorded through the worker's journal right after the
provider answered (crash safety: nothing sent is ever forgotten), with the metrics and one
log line per delivery (never the message or the full address)."""

from __future__ import annotations

import logging
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from rebook.channels.base import SendFailure, SendResult
from rebook.config import Settings
from rebook.db import session_scope
from rebook.deliverability import service as bounces
from rebook.delivery.journal import Journal, Outcome
from rebook.metrics import DELIVERIES
from rebook.unsubscribe import service as unsubscribe

# A transient reason's ending, wrong once no retry follows.
_WILL_BE_RETRIED = re.compile(r"; the (message|email) will be retried\.$")
log = logging.getLogger("rebook.delivery")


def gave_up(reason: str, attempts: int) -> str:
    """The final error of a temporary failure retried until the last attempt: its reason
    without the promise of a retry that will not come."""
    return f"Gave up after {attempts} attempts: {_WILL_BE_RETRIED.sub('.', reason)}"


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


async def sent(journal: Journal, delivery: Any, result: SendResult) -> None:
    await journal.record(
        Outcome(
            delivery.id,
            status="sent",
            provider_id=result.provider_message_id,
            provider_status=result.provider_status,
            sent_at=datetime.now(UTC),
            cost=result.cost,
        )
    )
    DELIVERIES.labels(delivery.channel, "sent").inc()
    _log(delivery, "sent", provider_message_id=result.provider_message_id)


async def skipped(journal: Journal, delivery: Any, code: str, message: str) -> None:
    await journal.record(
        Outcome(delivery.id, status="skipped", error_code=code, error_message=message)
    )
    DELIVERIES.labels(delivery.channel, "skipped").inc()
    _log(delivery, "skipped", error_code=code)


def backoff_seconds(attempt: int, settings: Settings, retry_after: float | None) -> float:
    """Exponential backoff with jitter, at least what the provider asked for."""
    base = settings.delivery_retry_base_seconds * (2 ** (attempt - 1))
    delay = min(base, 3600.0) * random.uniform(0.5, 1.5)
    return float(max(delay, retry_after or 0.0))


async def failed(journal: Journal, delivery: Any, failure: SendFailure, settings: Settings) -> None:
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
    # Sent again (or given up) after a message that may have arrived: counted, never hidden.
    doubt = " The last attempt may have reached the customer." if failure.maybe_delivered else ""
    if failure.transient and delivery.attempts < settings.delivery_max_attempts:
        delay = backoff_seconds(delivery.attempts, settings, failure.retry_after)
        await journal.record(
            Outcome(
                delivery.id,
                status="pending",
                error_code=failure.code,
                error_message=f"Retrying: {failure.message}{doubt}",
                next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
                possible_duplicate=failure.maybe_delivered,
            )
        )
        DELIVERIES.labels(delivery.channel, "retried").inc()
        _log(delivery, "retry scheduled", error_code=failure.code, retry_in=round(delay, 1))
        return
    message = failure.message
    if failure.transient:
        message = gave_up(failure.message, delivery.attempts)
    if failure.hard_bounce:
        message = f"Bounced: {message} The receiving server said: {failure.hard_bounce}"
    await journal.record(
        Outcome(
            delivery.id,
            status="failed",
            provider_status="bounced" if failure.hard_bounce else None,
            error_code=failure.code,
            error_message=message + doubt,
            possible_duplicate=failure.maybe_delivered,
        )
    )
    DELIVERIES.labels(delivery.channel, "failed").inc()
    _log(delivery, "failed", error_code=failure.code)
    if failure.hard_bounce:
        # The address is dead: no owner's later campaign mails it again.
        async with session_scope() as session:
            await bounces.record_refusal(
                session, delivery_id=delivery.id, detail=failure.hard_bounce, settings=settings
            )
