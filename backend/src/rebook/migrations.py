"""Run Alembic from code: the CLI's `migrate` and the test suite share this."""

from __future__ import annotations

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


def upgrade_head(url: str | None = None) -> None:
    command.upgrade(alembic_config(url), "head")


def print_sql() -> None:
    """Print the SQL of every migration, for a DBA (offline mode; no database needed)."""
    config = alembic_config("postgresql+asyncpg://rebook@localhost/rebook")
    command.upgrade(config, "head", sql=True)
