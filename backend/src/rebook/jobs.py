"""The procrastinate app: every module's tasks and periodic jobs, on the application's
PostgreSQL. Workers (`rebook worker`, or the one inside `rebook serve`) open it with
`open_jobs_app()`; the API defers jobs inside its own transaction (rebook.delivery.queue)."""

from __future__ import annotations

from urllib.parse import urlencode

import procrastinate
from sqlalchemy.engine import make_url

from rebook.config import get_settings
from rebook.db import resolve_database_url

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(),
    import_paths=["rebook.delivery.tasks"],
)


def libpq_url() -> str:
    """The application's database as a libpq URL (psycopg), embedded server included."""
    url = make_url(resolve_database_url(get_settings()))
    query = {k: v for k, v in url.query.items() if isinstance(v, str)}
    auth = url.username or ""
    if url.password:
        auth += f":{url.password}"
    host = url.host or ""
    port = f":{url.port}" if url.port else ""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{auth}@{host}{port}/{url.database}{suffix}"


def open_jobs_app() -> procrastinate.App:
    """The app bound to the configured database (call `open_async()` on it)."""
    return app.with_connector(procrastinate.PsycopgConnector(conninfo=libpq_url()))
