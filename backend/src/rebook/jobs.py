"""The procrastinate app: every module's tasks and periodic jobs, on the application's
PostgreSQL (the same database as the engine, embedded server included). Workers open it; the
API defers jobs inside its own transaction instead (rebook.delivery.queue)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import procrastinate
import psycopg_pool

from rebook.db import get_engine


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


app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(pool_factory=_pool),
    import_paths=["rebook.delivery.tasks"],
)
