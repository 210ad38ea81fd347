"""The delivery journal: what one worker's sends commit, written together.

Each send commits its send slot (reserved ahead), that its provider call begins
(`provider_call_at`, once the slot has come: with the reservation when it is due at once) and
its outcome after the call. The sends in flight hand all three to one group commit:
whatever arrives while a write is under way goes in the next one. A write is one call of the
database function `delivery_journal()` (migration 1730), autocommitted, on a connection the
journal keeps: one round trip, where a transaction through the ORM took six and about 2 ms of
CPU — more than the SMTP exchange of the message it recorded."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rebook.db import asyncpg_of, is_unreachable, retry_while_unreachable
from rebook.delivery.group_commit import GroupCommit
from rebook.delivery.ratelimit import SharedRateLimiter
from rebook.delivery.reasons import CANCELLED

log = logging.getLogger("rebook.delivery")

# A write waits this long for company: with SMTP_CONNECTIONS sends on the wire it then carries
# ~10 entries instead of ~3, for a third of the database work per message (measured with
# bench/delivery_bench.py); the engine's window keeps the next calls' starts committed ahead,
# so the wait is off the sends' path.
LINGER_SECONDS = 0.003

_JOURNAL = (
    "SELECT started_id, slot_at, started_now FROM delivery_journal("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)
# A call's start is committed this long before its slot (with the reservation, when the slot
# is due within it), so the start's write is over by the time the slot comes: twice the
# longest a journal write took of late, within these bounds. A cancel lets at most these
# last seconds' worth of calls go, besides those on the wire: they are counted as under way.
MIN_LEAD_SECONDS = 0.05
MAX_LEAD_SECONDS = 0.5
# How much of the longest recent write is remembered from one write to the next.
LEAD_MEMORY = 0.98
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
class Reservation:
    """A delivery about to be sent: its send slot, from the send-rate key it counts against."""

    delivery_id: int
    limiter: SharedRateLimiter


@dataclass(frozen=True)
class CallStart:
    """A delivery whose reserved slot has come: its provider call begins."""

    delivery_id: int


@dataclass(frozen=True)
class Slot:
    """When a call may go, and whether its start is committed already."""

    at: datetime
    started: bool


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


@dataclass(frozen=True)
class Flag:
    """A delivery about to be sent again while the provider may have it already."""

    delivery_id: int


Entry = Reservation | CallStart | Outcome | Flag
Answer = Slot | bool | None


class Journal:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._commit: GroupCommit[Entry, Answer] = GroupCommit(self._flush, linger=LINGER_SECONDS)
        self._conn: AsyncConnection | None = None
        # Seconds: the longest recent wait for a write. The first writes open the connection
        # and warm the server's caches: start cautious, and learn.
        self._slowest = MAX_LEAD_SECONDS / 2

    @property
    def lead(self) -> float:
        """Seconds before its slot that a call's start is committed."""
        return min(MAX_LEAD_SECONDS, max(MIN_LEAD_SECONDS, 2 * self._slowest))

    async def _timed(self, entry: Entry) -> Answer:
        began = time.monotonic()
        answer = await self._commit.submit(entry)
        self._slowest = max(time.monotonic() - began, self._slowest * LEAD_MEMORY)
        return answer

    async def reserve(self, delivery_id: int, limiter: SharedRateLimiter) -> Slot | None:
        """This delivery's send slot, its start committed too if the slot is due at once; None
        if it must not go (its campaign stopped sending: the delivery is now cancelled)."""
        answer = await self._timed(Reservation(delivery_id, limiter))
        assert answer is None or isinstance(answer, Slot)
        return answer

    async def call_starts(self, delivery_id: int) -> bool:
        """Commit that this delivery's provider call begins (its slot has come); False if it
        must not go (cancelled meanwhile, or taken back by recovery)."""
        return await self._timed(CallStart(delivery_id)) is True

    async def flag_possible_duplicate(self, delivery_id: int) -> None:
        """Commit that this delivery's customer may get its message twice (only while it is
        still `sending`)."""
        await self._commit.submit(Flag(delivery_id))

    async def record(self, outcome: Outcome) -> None:
        """Commit a delivery's outcome (only while it is still `sending`)."""
        await self._commit.submit(outcome)

    async def _flush(self, entries: list[Entry]) -> list[Answer]:
        outcomes = [e for e in entries if isinstance(e, Outcome)]
        reservations = [e for e in entries if isinstance(e, Reservation)]
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
            [r.delivery_id for r in reservations],
            [r.limiter.key for r in reservations],
            [r.limiter.interval for r in reservations],
            [s.delivery_id for s in starts],
            self.lead,
            CANCELLED.message,
        ]
        flagged = [o.delivery_id for o in outcomes if o.possible_duplicate] + [
            e.delivery_id for e in entries if isinstance(e, Flag)
        ]
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
        slots = {row["started_id"]: Slot(row["slot_at"], row["started_now"]) for row in rows}
        answers: list[Answer] = []
        for e in entries:
            if isinstance(e, Reservation):
                answers.append(slots.get(e.delivery_id))
            elif isinstance(e, CallStart):
                answers.append(e.delivery_id in slots)
            else:
                answers.append(None)
        return answers

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
