"""Run Alembic from code: the CLI's `migrate` and the test suite share this."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from alembic import command, op
from alembic.config import Config
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import AdaptedConnection

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"
# procrastinate's schema as of the version the queue migration pins (`procrastinate schema
# --read` of that release, kept as is): a database built today equals one built back then.
PROCRASTINATE_SCHEMA_DIR = ALEMBIC_INI.parent / "migrations" / "procrastinate"


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    if url:
        # Passed as an attribute: the ini parser would choke on %-escapes in socket paths.
        config.attributes["x_url"] = url
    return config


class _AppliedSteps(logging.Handler):
    """Collects the "Running upgrade a -> b, doc" lines Alembic logs, one per migration."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.steps: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running upgrade "):
            self.steps.append(message.removeprefix("Running upgrade "))


def upgrade_head(url: str | None = None) -> list[str]:
    """Apply every migration not applied yet; returns them ("a -> b, what it does"), in order."""
    logger = logging.getLogger("alembic.runtime.migration")
    handler = _AppliedSteps()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # collected here, not printed as log lines
    try:
        command.upgrade(alembic_config(url), "head")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    return handler.steps


def print_sql() -> None:
    """Print the SQL of every migration, for a DBA (offline mode; no database needed)."""
    config = alembic_config("postgresql+asyncpg://rebook@localhost/rebook")
    command.upgrade(config, "head", sql=True)


def run_sql_script(script: str) -> None:
    """Run a multi-statement SQL script (functions with $$ bodies included) inside the
    migration's transaction: asyncpg's simple-query `execute`, as `psql` would run it; in
    offline mode it is printed whole."""
    if op.get_context().as_sql:
        op.execute(sa.text(script.replace(":", r"\:")))
        return

    async def run(raw: Any) -> None:
        # Atomic with the other migrations of the run, never committed on its own.
        if not raw.is_in_transaction():
            raise RuntimeError("a migration script must run inside Alembic's transaction")
        await raw.execute(script)

    adapted = cast(AdaptedConnection, op.get_bind().connection.dbapi_connection)
    adapted.run_async(run)


def procrastinate_schema(version: str) -> str:
    """The pinned schema procrastinate `version` shipped, from PROCRASTINATE_SCHEMA_DIR."""
    return (PROCRASTINATE_SCHEMA_DIR / f"schema-{version}.sql").read_text(encoding="utf-8")


def procrastinate_migration(name: str) -> str:
    """One of procrastinate's own migration scripts (`procrastinate schema --migrations-path`),
    by file name: released scripts never change, and every release ships all of them."""
    path = Path(SchemaManager.get_migrations_path()) / name
    return path.read_text(encoding="utf-8")
