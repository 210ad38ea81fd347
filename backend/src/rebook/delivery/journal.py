"""The delivery journal: what one worker's sends commit, written together.

Each send commits twice: that its provider call begins (`provider_call_at`, with a send slot)
before the call, and its outcome after it. The sends in flight hand both to one group commit:
whatever arrives while a write is under way goes in the next one. A write is one call of the
database function `delivery_journal()` (migration 1730), autocommitted, on a connection the
journal keeps: one round trip, where a transaction through the ORM took six and about 2 ms of
CPU — more than the SMTP exchange of the message it recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rebook.db import asyncpg_of, is_unreachable, retry_while_unreachable
from rebook.delivery.batching import GroupCommit
from rebook.delivery.ratelimit import SharedRateLimiter
from rebook.messaging.sending import CANCELLED_MESSAGE

log = logging.getLogger("rebook.delivery")

# A write waits this long for company: with SMTP_CONNECTIONS sends on the wire it then carries
# ~10 entries instead of ~3, for a third of the database work per message (measured with
# bench/delivery_bench.py); the engine's window keeps the next calls' starts committed ahead,
# so the wait is off the sends' path.
LINGER_SECONDS = 0.003

_JOURNAL = (
    "SELECT started_id, slot_at FROM delivery_journal("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
)
# Rare (a message that went out unanswered), so outside the function; written before the
# outcome, so a retry is never without its flag.
_FLAG_POSSIBLE_DUPLICATES = (
    "UPDATE campaign_deliveries SET possible_duplicate = true "
    "WHERE id = ANY($1::integer[]) AND status = 'sending'"
)
# The connection was lost (database restart, network): reconnect and write again, for as
# long as the database is away, which is safe — every change in the function is conditional
# on the delivery still being `sending`.
# A connection the server closed while it was idle can also answer InternalClientError
# ("another operation is in progress": asyncpg is still reading the server's farewell).
_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
)


@dataclass(frozen=True)
class CallStart:
    """A delivery whose provider call is about to begin, and the send-rate key it counts
    against."""

    delivery_id: int
    limiter: SharedRateLimiter


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status: str  # sent, failed, skipped, or pending (a retry at next_attempt_at)
    provider_id: str | None = None
    provider_status: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    sent_at: datetime | None = None
    cost: Decimal | None = None
    next_attempt_at: datetime | None = None
    # The provider may have the message already (it went out, no answer came).
    possible_duplicate: bool = False


Entry = CallStart | Outcome


class Journal:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._commit: GroupCommit[Entry, datetime | None] = GroupCommit(
            self._flush, linger=LINGER_SECONDS
        )
        self._conn: AsyncConnection | None = None

    async def call_starts(self, delivery_id: int, limiter: SharedRateLimiter) -> datetime | None:
        """Commit that this delivery's provider call begins; its send slot, or None if it must
        not go (its campaign stopped sending: the delivery is now cancelled)."""
        return await self._commit.submit(CallStart(delivery_id, limiter))

    async def record(self, outcome: Outcome) -> None:
        """Commit a delivery's outcome (only while it is still `sending`)."""
        await self._commit.submit(outcome)

    async def _flush(self, entries: list[Entry]) -> list[datetime | None]:
        outcomes = [e for e in entries if isinstance(e, Outcome)]
        starts = [e for e in entries if isinstance(e, CallStart)]
        args: list[Any] = [
            [o.delivery_id for o in outcomes],
            [o.status for o in outcomes],
            [o.provider_id for o in outcomes],
            [o.provider_status for o in outcomes],
            [o.error_code for o in outcomes],
            [o.error_message for o in outcomes],
            [o.sent_at for o in outcomes],
            [o.cost for o in outcomes],
            [o.next_attempt_at for o in outcomes],
            [s.delivery_id for s in starts],
            [s.limiter.key for s in starts],
            [s.limiter.interval for s in starts],
            CANCELLED_MESSAGE,
        ]
        flagged = [o.delivery_id for o in outcomes if o.possible_duplicate]
        try:
            rows = await self._write(flagged, args)
        except Exception as exc:
            if not isinstance(exc, _CONNECTION_LOST) and not is_unreachable(exc):
                raise
            log.warning("delivery journal: database connection lost, reconnecting")
            await self.aclose()
            rows = await retry_while_unreachable(
                lambda: self._write(flagged, args), "delivery journal", after_failure=self.aclose
            )
        slots: dict[int, datetime] = {row["started_id"]: row["slot_at"] for row in rows}
        return [slots.get(e.delivery_id) if isinstance(e, CallStart) else None for e in entries]

    async def _write(self, flagged: list[int], args: list[Any]) -> list[Any]:
        driver = await self._driver()
        if flagged:
            await driver.execute(_FLAG_POSSIBLE_DUPLICATES, flagged)
        rows: list[Any] = await driver.fetch(_JOURNAL, *args)
        return rows

    async def _driver(self) -> Any:
        """asyncpg's connection under a pooled connection the journal keeps."""
        if self._conn is None:
            self._conn = await self.engine.connect()
        return await asyncpg_of(self._conn)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()  # never hand a connection in unknown state back
            finally:
                await conn.close()
