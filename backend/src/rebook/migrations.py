"""Run Alembic from code: the CLI's `migrate` and the test suite share this."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


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
