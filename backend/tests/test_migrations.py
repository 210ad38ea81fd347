from __future__ import annotations

import asyncio

from alembic import command

from rebook.migrations import alembic_config


async def test_the_models_match_what_the_migrations_built(database_url: str) -> None:
    # Raises (naming the difference) when a model changed without a migration.
    await asyncio.to_thread(command.check, alembic_config(database_url))
