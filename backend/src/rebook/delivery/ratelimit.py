"""A send-rate limit shared by every worker: each message takes the next free slot of its
channel and sender in `send_rate_slots` and is sent at that time, never before.

Slots are taken at the last moment, by the sends about to call the provider, in the same
statement that commits their `provider_call_at` (the worker's journal, `delivery_journal()`,
for all the sends in flight), so the database adds no round trip of its own to the hot path.
This module's own statement is for a message that missed its slot.

The limit holds at the provider, not only on paper: a message may reach the wire a little
after its slot (event-loop lag), and late messages would bunch up with the next ones. So slots
are spaced (1 + MARGIN) / rate seconds apart, and a message that finds itself more than
MAX_LATE seconds late takes a new slot instead of going; the rest of the margin covers the way
from here to the provider. Any one-second window then holds at most `rate` calls, whatever
the number of workers, at 1 / (1 + MARGIN) ≈ 96.6 % of the limit. Above 1 000/s (pacing finer
than a millisecond) late messages are not held back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from rebook.db import retry_while_unreachable

MARGIN = 0.035  # seconds of every second
MAX_LATE = 0.015  # seconds

_RESERVE = text(
    """
    INSERT INTO send_rate_slots AS s (key, next_slot_at)
    VALUES (:key, clock_timestamp() + :span * interval '1 second')
    ON CONFLICT (key) DO UPDATE
    SET next_slot_at = greatest(s.next_slot_at, clock_timestamp())
                       + :span * interval '1 second'
    RETURNING next_slot_at - :span * interval '1 second'
    """
)


class SharedRateLimiter:
    def __init__(self, engine: AsyncEngine, key: str, rate_per_second: float) -> None:
        self.engine = engine
        self.key = key
        self.interval = (1.0 + MARGIN) / rate_per_second
        self.strict = self.interval >= 0.001

    async def reserve(self, count: int) -> list[datetime]:
        """Reserve `count` consecutive slots; their start times (waits while the database is
        away: slots whose answer was lost are only skipped)."""

        async def attempt() -> datetime | None:
            async with self.engine.begin() as conn:
                slot: datetime | None = await conn.scalar(
                    _RESERVE, {"key": self.key, "span": count * self.interval}
                )
            return slot

        first = await retry_while_unreachable(attempt, "send-rate slot")
        assert first is not None
        return [first + timedelta(seconds=i * self.interval) for i in range(count)]

    async def wait_for(self, slot: datetime) -> datetime:
        """Wait for `slot`; if woken too late to use it, take a new one and wait for that.
        Returns the slot the caller may send in, now."""
        while True:
            delay = (slot - datetime.now(UTC)).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
                delay = (slot - datetime.now(UTC)).total_seconds()
            if not self.strict or -delay <= MAX_LATE:
                return slot
            slot = (await self.reserve(1))[0]

    @staticmethod
    async def wait_until(slot: datetime) -> None:
        delay = (slot - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
