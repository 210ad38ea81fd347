"""The job queue's schema is Alembic's (a pinned procrastinate schema, then procrastinate's own
migration scripts), while the code that uses it is the installed procrastinate: the two must
be the same schema, or an upgrade left out a migration."""

from __future__ import annotations

import uuid
from importlib.metadata import version

import asyncpg
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

# Every procrastinate object as text PostgreSQL itself renders: columns, constraints,
# indexes, triggers, functions and types. Two databases with the same rows here run
# procrastinate the same way.
FINGERPRINT = """
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || udt_name
       || ' null=' || is_nullable || ' default=' || coalesce(column_default, '')
FROM information_schema.columns
WHERE table_schema = 'public' AND table_name LIKE 'procrastinate%'
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE conrelid::regclass::text LIKE 'procrastinate%'
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename LIKE 'procrastinate%'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t
WHERE NOT t.tgisinternal AND t.tgrelid::regclass::text LIKE 'procrastinate%'
UNION ALL
SELECT 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.proname LIKE 'procrastinate%'
UNION ALL
SELECT 'type ' || t.typname || ' ' || coalesce(
         (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = t.oid),
         (SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ','
                            ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0), '')
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = 'public' AND t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c')
"""


def _dsn(sqlalchemy_url: str, database: str | None = None) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    if database:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


async def _fingerprint(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {row[0] for row in await conn.fetch(FINGERPRINT)}
    finally:
        await conn.close()


async def test_the_migrated_queue_schema_is_the_installed_procrastinates(
    database_url: str,
) -> None:
    # A database of its own, given the schema of the procrastinate that is installed.
    name = f"rebook_queue_schema_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_dsn(database_url, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        fresh = await asyncpg.connect(_dsn(database_url, name))
        try:
            await fresh.execute(SchemaManager.get_schema())
        finally:
            await fresh.close()
        installed = await _fingerprint(_dsn(database_url, name))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    migrated = await _fingerprint(_dsn(database_url))

    assert installed, "the fingerprint found no procrastinate objects"
    advice = (
        f"procrastinate {version('procrastinate')} is installed but the migrations built "
        "another queue schema: add a migration that applies its new scripts "
        "(rebook.migrations.procrastinate_migration)"
    )
    assert sorted(installed - migrated) == [], f"{advice}; missing from the migrations"
    assert sorted(migrated - installed) == [], f"{advice}; only in the migrations"
