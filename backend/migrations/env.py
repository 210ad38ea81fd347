"""Alembic environment: async engine on the same database the app uses. `-x url=…` (or a
connection passed in `config.attributes["connection"]`) overrides it."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import rebook.models  # noqa: F401 - registers the tables
from rebook.config import get_settings
from rebook.db import Base, resolve_database_url

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    explicit = config.attributes.get("x_url") or context.get_x_argument(as_dictionary=True).get(
        "url"
    )
    return str(explicit) if explicit else resolve_database_url(get_settings())


def include_object(
    obj: object,  # noqa: ARG001 - Alembic's hook signature
    name: str | None,  # noqa: ARG001
    type_: str,  # noqa: ARG001
    reflected: bool,
    compare_to: object,
) -> bool:
    """Autogenerate compares the models with the database, but some schema is written in SQL
    by migrations and has no model: procrastinate's job queue, the send-rate slots, partial
    and trigram indexes. Never propose dropping what only exists in the database."""
    return not (reflected and compare_to is None)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, include_object=include_object
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
