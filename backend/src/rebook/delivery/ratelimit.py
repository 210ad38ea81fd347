"""A send-rate limit shared by every worker: each message takes the next free slot of its
channel and sender in `send_rate_slots`, spaced 1/rate seconds apart, and waits for it. Slots
are taken in small groups to keep the database out of the hot path; any one-second window
holds at most `rate` slots whatever the number of workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class SharedRateLimiter:
    def __init__(self, engine: AsyncEngine, key: str, rate_per_second: float) -> None:
        self.engine = engine
        self.key = key
        self.interval = 1.0 / rate_per_second

    async def reserve(self, count: int) -> list[datetime]:
        """Reserve `count` consecutive slots; returns their start times."""
        async with self.engine.begin() as conn:
            first = await conn.scalar(
                text(
                    """
                    INSERT INTO send_rate_slots AS s (key, next_slot_at)
                    VALUES (:key, clock_timestamp() + :span * interval '1 second')
                    ON CONFLICT (key) DO UPDATE
                    SET next_slot_at = greatest(s.next_slot_at, clock_timestamp())
                                       + :span * interval '1 second'
                    RETURNING next_slot_at - :span * interval '1 second'
                    """
                ),
                {"key": self.key, "span": count * self.interval},
            )
        assert first is not None
        from datetime import timedelta

        return [first + timedelta(seconds=i * self.interval) for i in range(count)]

    @staticmethod
    async def wait_until(slot: datetime) -> None:
        delay = (slot - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
