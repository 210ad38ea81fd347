"""A worker's hold on the deliveries it has claimed.

Recovery takes a delivery left `sending` for DELIVERY_STALE_AFTER_SECONDS for a dead worker's
and sends it again. A live worker can hold one that long: a chunk waits for its turn, a
started send for its rate slot (at a slow rate, or with many workers sharing it), a call for
a slow relay. So the worker renews `updated_at` of every delivery it holds, a few times per
threshold: only a worker that stopped renewing (killed, or frozen for longer than the
threshold) leaves deliveries that look stale."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from rebook.db import asyncpg_of, is_unreachable

log = logging.getLogger("rebook.delivery")

RENEW = """
UPDATE campaign_deliveries SET updated_at = clock_timestamp()
WHERE id = ANY($1::integer[]) AND status = 'sending'
"""
RENEWALS_PER_THRESHOLD = 4


class Lease:
    def __init__(self, engine: AsyncEngine, stale_after_seconds: float) -> None:
        self.engine = engine
        self.every = stale_after_seconds / RENEWALS_PER_THRESHOLD
        # A count per id: a delivery recovery sent back may be claimed again, by another
        # batch job of this worker, while the first still holds it.
        self._held: Counter[int] = Counter()
        self._renewing: asyncio.Task[None] | None = None

    def hold(self, ids: Iterable[int]) -> None:
        self._held.update(ids)
        if self._renewing is None:  # started on first use, in the loop that sends
            self._renewing = asyncio.create_task(self._renew_forever())

    def release(self, ids: Iterable[int]) -> None:
        self._held.subtract(ids)
        self._held = +self._held  # drops the ids no longer held

    async def renew(self) -> None:
        held = list(self._held)
        if not held:
            return
        async with self.engine.connect() as conn:
            await (await asyncpg_of(conn)).execute(RENEW, held)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.renew()
            except Exception as exc:  # try again next time, never stop
                if is_unreachable(exc):  # the journal and the claims say so already
                    log.warning("could not renew the deliveries this worker holds: no database")
                else:
                    log.exception("could not renew the deliveries this worker holds")

    async def aclose(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
            self._renewing = None
