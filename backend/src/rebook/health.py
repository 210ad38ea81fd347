"""What /healthz says of the database. A probe never waits for a connection: the database is
checked in the background at most once a second and the probe reads the last answer, so a
load balancer's probes never queue behind a burst of requests holding the pool."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text

from rebook.db import get_engine, is_unreachable

log = logging.getLogger("rebook.api")

RECHECK_SECONDS = 1.0
# The database gets this long to answer `SELECT 1`.
TIMEOUT_SECONDS = 2.0


class DatabaseHealth:
    def __init__(self) -> None:
        self._up: bool | None = None  # None: never checked
        self._checked_at = 0.0
        self._check: asyncio.Task[None] | None = None

    async def is_up(self) -> bool:
        if self._check is None and time.monotonic() - self._checked_at >= RECHECK_SECONDS:
            self._check = asyncio.create_task(self._refresh())
        if self._up is None and self._check is not None:
            await asyncio.shield(self._check)  # the first probe has nothing older to go by
        return bool(self._up)

    async def _refresh(self) -> None:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                async with get_engine().connect() as conn:
                    await conn.execute(text("SELECT 1"))
            self._up = True
        except Exception as exc:
            if not (is_unreachable(exc) or isinstance(exc, TimeoutError)):
                log.exception("health check: unexpected database error")
            self._up = False
        finally:
            self._checked_at = time.monotonic()
            self._check = None
