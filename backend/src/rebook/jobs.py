"""The procrastinate app: every module's tasks and periodic jobs, on the application's
PostgreSQL (the same database as the engine, embedded server included). Workers open it; the
API defers jobs inside its own transaction instead (rebook.delivery.queue)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, LiteralString, TypeVar
from urllib.parse import urlencode

import procrastinate
import psycopg_pool
from procrastinate import connector, sql

from rebook.db import (
    RETRY_FIRST_SECONDS,
    RETRY_MAX_SECONDS,
    get_engine,
    is_unreachable,
    retry_while_unreachable,
)

log = logging.getLogger("rebook.jobs")
T = TypeVar("T")
# Fetching marks a job `doing` for this worker: if the answer is lost, running it again would
# strand that job under a live worker. Only a fetch that never reached the server (no
# connection to be had) is repeated; a fetch lost mid-statement stops procrastinate's worker,
# and the runtime starts a new one (the old one's jobs are then retried).
_NOT_REPEATED = {sql.queries["fetch_job"]}


def libpq_url() -> str:
    """The application's database as a libpq URL, for psycopg."""
    url = get_engine().url
    query = {k: v for k, v in url.query.items() if isinstance(v, str)}
    auth = url.username or ""
    if url.password:
        auth += f":{url.password}"
    port = f":{url.port}" if url.port else ""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{auth}@{url.host or ''}{port}/{url.database}{suffix}"


def _pool(**kwargs: Any) -> psycopg_pool.AsyncConnectionPool:
    # Resolved when a worker opens the app, not at import: the database may be embedded.
    return psycopg_pool.AsyncConnectionPool(conninfo=libpq_url(), **kwargs)


class Connector(procrastinate.PsycopgConnector):
    """procrastinate's connector, made to outlive a database restart: its worker stops as soon
    as the listener or the heartbeat meets a database error ("Side task listener failed …
    stopping worker"), so here they wait for the database instead. Its statements are safe
    to repeat (a heartbeat, a periodic defer, finishing or retrying a job: each either takes
    effect once or fails because it already did), but for the fetch (`_NOT_REPEATED`)."""

    async def _again(self, query: str, attempt: Callable[[], Awaitable[T]]) -> T:
        if query in _NOT_REPEATED:
            return await self._fetch(attempt)
        return await retry_while_unreachable(attempt, "job queue")

    @staticmethod
    async def _fetch(attempt: Callable[[], Awaitable[T]]) -> T:
        """Repeated only when no connection could be had: nothing reached the server."""
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                return await attempt()
            except procrastinate.exceptions.ConnectorException as exc:
                if not isinstance(exc.__cause__, psycopg_pool.PoolTimeout):
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def execute_query_async(self, query: LiteralString, **arguments: Any) -> None:
        parent = super().execute_query_async
        await self._again(query, lambda: parent(query, **arguments))

    async def execute_query_one_async(
        self, query: LiteralString, **arguments: Any
    ) -> dict[str, Any]:
        parent = super().execute_query_one_async
        return await self._again(query, lambda: parent(query, **arguments))

    async def execute_query_all_async(
        self, query: LiteralString, **arguments: Any
    ) -> list[dict[str, Any]]:
        parent = super().execute_query_all_async
        return await self._again(query, lambda: parent(query, **arguments))

    async def listen_notify(
        self, on_notification: connector.Notify, channels: Iterable[str]
    ) -> None:
        """LISTEN on a connection of its own, reconnecting for as long as the database is away
        (the worker polls meanwhile, so no job waits)."""
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                await super().listen_notify(on_notification, channels)
            except Exception as exc:
                if not is_unreachable(exc):
                    raise
                log.warning("job notifications: no database, listening again soon")
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)


app = procrastinate.App(
    connector=Connector(pool_factory=_pool),
    import_paths=["rebook.messaging.tasks"],
)
