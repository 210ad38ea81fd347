"""The delivery journal: what one worker's sends commit, written together.

Each send commits its send slot (reserved ahead), that its provider call begins
(`provider_call_at`, once the slot has come: with the reservation when it is due at once) and
its outcome after the call. The sends in flight hand all three to one group commit:
whatever arrives while a write is under way goes in the next one. A write is one statement
(`write_statement`), autocommitted, on a connection the journal keeps: one round trip, where a
transaction through the ORM took six and about 2 ms of CPU — more than the SMTP exchange of
the message it recorded."""

from __future__ import annotations

import functools
import logging
import re
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

# One write, in one statement, made of the parts below that the group needs (a part with
# nothing to do would still cost its statement-level triggers). In the order the dependencies
# between them impose:
#
#  1. `live`: a share lock on the campaigns of the deliveries asked for (reservations and
#     starts) that are still sending, taken before any delivery row is locked. A cancel's
#     UPDATE of its campaign row waits for this write to commit, and this write waits for a
#     cancel: once a cancel has committed no start commits for that campaign, and each start
#     committed before it is visible to it (ADR 008). Every other part reads `live`, so none
#     locks a delivery before it (the cancel locks the campaign, then its deliveries: the
#     same order, so neither waits for the other in a circle);
#  2. `recorded`: outcomes, only for deliveries still `sending` (a recovered or cancelled one
#     is left alone);
#  3. `cancelled`: a delivery asked for (never one whose call is on the wire) of a campaign
#     no longer sending, still `sending`, is cancelled (its claim undone);
#  4. `started`: deliveries whose reserved slot has come begin their call now;
#  5. `slots`: each reservation gets the next free slot of its rate-limit key, consecutive
#     slots `spacing` seconds apart (rebook.delivery.ratelimit), keys taken in one order by
#     every worker; `due` says which slot each got and whether it is due within `lead`
#     seconds, and `reserved` commits the start of those (the others start when their slot
#     comes: a call that missed its slot never went).
#
# A delivery is in one part only (a send waits for each answer before its next entry), so no
# row is changed twice. Returns one row per reservation or start that may go: its id, its
# slot (NULL for a start) and whether its start is committed.
_LIVE = """
    live AS (
      SELECT c.id FROM campaigns c
      WHERE c.id IN (SELECT d.campaign_id FROM campaign_deliveries d
                     WHERE d.id = ANY(:asked::integer[]))
        AND c.status = 'sending'
      ORDER BY c.id
      FOR SHARE OF c
    ), live_ids AS (
      SELECT coalesce(array_agg(id), '{}') AS ids FROM live
    )"""
_RECORDED = """
    recorded AS (
      UPDATE campaign_deliveries d
      SET status = v.status,
          provider_message_id = coalesce(v.provider_id, d.provider_message_id),
          provider_status = coalesce(d.provider_status, v.provider_status),
          error_code = v.error_code, error_message = v.error_message,
          sent_at = coalesce(v.sent_at, d.sent_at), cost = coalesce(v.cost, d.cost),
          next_attempt_at = v.next_attempt_at, updated_at = clock_timestamp()
      FROM unnest(:o_id::integer[], :o_status::text[], :o_provider_id::text[],
                  :o_provider_status::text[], :o_error_code::text[], :o_error_message::text[],
                  :o_sent_at::timestamptz[], :o_cost::numeric[], :o_next_attempt_at::timestamptz[])
           AS v(id, status, provider_id, provider_status, error_code, error_message,
                sent_at, cost, next_attempt_at)
      WHERE d.id = v.id AND d.status = 'sending' {after_live}
    )"""
_CANCELLED = """
    cancelled AS (
      UPDATE campaign_deliveries d
      SET status = 'cancelled', attempts = d.attempts - 1, error_code = 'cancelled',
          error_message = :cancelled_message::text
      WHERE d.id = ANY(:asked::integer[]) AND d.status = 'sending'
        AND NOT d.campaign_id = ANY((SELECT ids FROM live_ids)::integer[])
    )"""
_STARTED = """
    started AS (
      UPDATE campaign_deliveries d
      SET provider_call_at = clock_timestamp(), updated_at = clock_timestamp()
      WHERE d.id = ANY(:g_id::integer[]) AND d.status = 'sending'
        AND d.campaign_id = ANY((SELECT ids FROM live_ids)::integer[])
      RETURNING d.id
    )"""
_RESERVED = """
    reserving AS (
      SELECT s.id, s.key, s.spacing,
             row_number() OVER (PARTITION BY s.key ORDER BY s.n) AS place
      FROM unnest(:r_id::integer[], :r_key::text[], :r_spacing::double precision[])
           WITH ORDINALITY AS s(id, key, spacing, n)
      JOIN campaign_deliveries d ON d.id = s.id
      WHERE d.status = 'sending' AND d.campaign_id = ANY((SELECT ids FROM live_ids)::integer[])
    ), per_key AS (
      SELECT key, max(spacing) AS spacing, count(*) AS taken FROM reserving GROUP BY key
    ), slots AS (
      INSERT INTO send_rate_slots AS r (key, next_slot_at)
      SELECT key, clock_timestamp() + taken * spacing * interval '1 second'
      FROM per_key ORDER BY key
      ON CONFLICT (key) DO UPDATE
      SET next_slot_at = greatest(r.next_slot_at, clock_timestamp()) + (
            SELECT p.taken * p.spacing * interval '1 second' FROM per_key p
            WHERE p.key = excluded.key)
      RETURNING r.key, r.next_slot_at
    ), due AS (
      SELECT rv.id,
             sl.next_slot_at - (pk.taken - rv.place + 1) * pk.spacing * interval '1 second'
               AS slot_at,
             sl.next_slot_at - (pk.taken - rv.place + 1) * pk.spacing * interval '1 second'
               <= clock_timestamp() + :lead::double precision * interval '1 second'
               AS started_now
      FROM reserving rv
      JOIN per_key pk ON pk.key = rv.key
      JOIN slots sl ON sl.key = rv.key
    ), reserved AS (
      UPDATE campaign_deliveries d
      SET provider_call_at = CASE WHEN due.started_now THEN clock_timestamp() END,
          updated_at = clock_timestamp()
      FROM due WHERE d.id = due.id
    )"""
_NOTHING = "SELECT NULL::integer AS started_id WHERE false"
_PARAMETER = re.compile(r"(?<!:):([a-z_]+)")


@functools.cache
def write_statement(outcomes: bool, reservations: bool, starts: bool) -> tuple[str, list[str]]:
    """The write for a group with these kinds of entries, and the names of its parameters in
    their order ($1, $2, …)."""
    asked = reservations or starts
    parts = [_LIVE] if asked else []
    if outcomes:
        after_live = "AND (SELECT ids FROM live_ids) IS NOT NULL" if asked else ""
        parts.append(_RECORDED.replace("{after_live}", after_live))
    if asked:
        parts.append(_CANCELLED)
    if starts:
        parts.append(_STARTED)
    if reservations:
        parts.append(_RESERVED)
    # The answer's columns: started_id, slot_at (NULL for a start), started_now.
    answers = []
    if starts:
        answers.append(
            "SELECT id AS started_id, NULL::timestamptz AS slot_at, true AS started_now "
            "FROM started"
        )
    if reservations:
        answers.append("SELECT id AS started_id, slot_at, started_now FROM due")
    sql = (
        "/* delivery journal */ WITH"
        + ",".join(parts)
        + "\n    "
        + ("\n    UNION ALL\n    ".join(answers) or _NOTHING)
    )
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PARAMETER.sub(number, sql), names


# A call's start is committed this long before its slot (with the reservation, when the slot
# is due within it), so the start's write is over by the time the slot comes: twice the
# longest a journal write took of late, within these bounds. A cancel lets at most these
# last seconds' worth of calls go, besides those on the wire: they are counted as under way.
MIN_LEAD_SECONDS = 0.05
MAX_LEAD_SECONDS = 0.5
# How much of the longest recent write is remembered from one write to the next.
LEAD_MEMORY = 0.98
# Rare (a message that went out unanswered), so a statement of its own; written before the
# outcome, so a retry is never without its flag.
_FLAG_POSSIBLE_DUPLICATES = (
    "UPDATE campaign_deliveries SET possible_duplicate = true "
    "WHERE id = ANY($1::integer[]) AND status = 'sending'"
)
# The connection was lost (database restart, network): reconnect and write again, for as
# long as the database is away, which is safe — every change the write makes is conditional
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
        values: dict[str, Any] = {
            "o_id": [o.delivery_id for o in outcomes],
            "o_status": [o.status for o in outcomes],
            "o_provider_id": [o.provider_id for o in outcomes],
            "o_provider_status": [o.provider_status for o in outcomes],
            "o_error_code": [o.error_code for o in outcomes],
            "o_error_message": [o.error_message for o in outcomes],
            "o_sent_at": [o.sent_at for o in outcomes],
            "o_cost": [o.cost for o in outcomes],
            "o_next_attempt_at": [o.next_attempt_at for o in outcomes],
            "r_id": [r.delivery_id for r in reservations],
            "r_key": [r.limiter.key for r in reservations],
            "r_spacing": [r.limiter.interval for r in reservations],
            "g_id": [s.delivery_id for s in starts],
            "asked": [r.delivery_id for r in reservations] + [s.delivery_id for s in starts],
            "lead": self.lead,
            "cancelled_message": CANCELLED.message,
        }
        statement: tuple[str, list[Any]] | None = None
        if outcomes or reservations or starts:
            sql, names = write_statement(bool(outcomes), bool(reservations), bool(starts))
            statement = (sql, [values[name] for name in names])
        flagged = [o.delivery_id for o in outcomes if o.possible_duplicate] + [
            e.delivery_id for e in entries if isinstance(e, Flag)
        ]
        try:
            rows = await self._write(flagged, statement)
        except Exception as exc:
            if not isinstance(exc, _CONNECTION_LOST) and not is_unreachable(exc):
                raise
            log.warning("delivery journal: database connection lost, reconnecting")
            await self.aclose()
            rows = await retry_while_unreachable(
                lambda: self._write(flagged, statement),
                "delivery journal",
                after_failure=self.aclose,
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

    async def _write(
        self, flagged: list[int], statement: tuple[str, list[Any]] | None
    ) -> list[Any]:
        driver = await self._driver()
        if flagged:
            await driver.execute(_FLAG_POSSIBLE_DUPLICATES, flagged)
        if statement is None:
            return []
        rows: list[Any] = await driver.fetch(statement[0], *statement[1])
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
