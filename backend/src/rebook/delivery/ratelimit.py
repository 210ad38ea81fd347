"""A send-rate limit shared by every worker: each message takes the next free slot of its
channel and sender in `send_rate_slots` and is sent at that time, never before.

Slots are reserved by the worker's journal (`journal.write_statement`), in the same statement
as the sends' other writes, so the database adds no round trip of its own to the hot path.

The limit holds at the provider, not only on paper: a message may reach the wire a little
after its slot (event-loop lag), and late messages would bunch up with the next ones. So slots
are spaced (1 + MARGIN) / rate seconds apart, and a message that finds itself more than
MAX_LATE seconds late, when it has its place among the calls at once (for email, when a
connection is free to write it), takes a new slot instead of going; the rest of the margin
covers the way from there to the provider. Any one-second window then holds at most `rate`
calls, whatever the number of workers, at 1 / (1 + MARGIN) ≈ 98 % of the limit. Above
1 000/s (pacing finer than a millisecond) late messages are not held back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

MARGIN = 0.02  # seconds of every second
MAX_LATE = 0.010  # seconds


class SharedRateLimiter:
    def __init__(self, key: str, rate_per_second: float) -> None:
        self.key = key
        self.interval = (1.0 + MARGIN) / rate_per_second
        self.strict = self.interval >= 0.001

    def missed(self, slot: datetime) -> bool:
        """Too late, now, to send in `slot`."""
        return self.strict and (datetime.now(UTC) - slot).total_seconds() > MAX_LATE

    def deadline(self, slot: datetime) -> datetime | None:
        """The latest a message may reach the wire in `slot`."""
        return slot + timedelta(seconds=MAX_LATE) if self.strict else None

    @staticmethod
    async def wait_until(at: datetime) -> None:
        delay = (at - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
