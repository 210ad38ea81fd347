from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.migrations import alembic_config


async def test_the_models_match_what_the_migrations_built(database_url: str) -> None:
    # Raises (naming the difference) when a model changed without a migration.
    await asyncio.to_thread(command.check, alembic_config(database_url))


# Functions the schema may hold: those that keep counts and rows in step (trigger functions,
# and the ones they share), and the pure one the search indexes are built on. Runtime logic
# (what a worker writes, how) lives beside its callers in Python.
SCHEMA_FUNCTIONS = {"booking_history_sync", "marketing_audience_sync", "search_fold"}


async def test_the_schema_holds_no_runtime_functions(session: AsyncSession) -> None:
    rows = await session.scalars(
        text(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.prorettype <> 'trigger'::regtype "
            "AND p.proname NOT LIKE 'procrastinate\\_%' AND p.prokind = 'f' "
            # Extensions' own functions (pg_trgm's, unaccent's) are theirs, not ours.
            "AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.objid = p.oid "
            "AND dep.deptype = 'e')"
        )
    )
    assert set(rows) == SCHEMA_FUNCTIONS
