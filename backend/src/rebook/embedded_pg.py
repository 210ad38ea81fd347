"""The embedded PostgreSQL used when `DATABASE_URL` is unset: a private server from the
`pgserver` wheel, kept in `<data_dir>/pg`, stopped when the last process using it exits."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

log = logging.getLogger(__name__)

_servers: dict[Path, Any] = {}


def start(pgdata: Path) -> str:
    """Start (or join) the embedded server and return a libpq URI to its `postgres` database."""
    pgdata = pgdata.resolve()
    if pgdata not in _servers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs complains about XDG_RUNTIME_DIR
            from pgserver import postgres_server

            pgdata.mkdir(parents=True, exist_ok=True)
            log.info("starting embedded PostgreSQL in %s", pgdata)
            logging.getLogger("pgserver").setLevel(logging.WARNING)
            _servers[pgdata] = postgres_server.get_server(pgdata, cleanup_mode="stop")
    uri: str = _servers[pgdata].get_uri("postgres")
    return uri


def sqlalchemy_url(libpq_uri: str, database: str) -> str:
    """`postgresql://postgres:@/postgres?host=/sock` → the asyncpg URL of `database`."""
    parsed = urlparse(libpq_uri)
    host = parse_qs(parsed.query).get("host", [""])[0]
    user = parsed.username or "postgres"
    return f"postgresql+asyncpg://{user}@/{database}?host={host}"
