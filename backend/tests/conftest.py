"""Tests run against a real PostgreSQL: `DATABASE_URL` when set, else the embedded server.
Each run creates its own database (migrated with Alembic) and drops it at the end; each test
runs inside a transaction that is rolled back, so tests never see each other's rows."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from rebook import db, embedded_pg
from rebook.app import create_app
from rebook.config import REPO_ROOT, get_settings
from rebook.migrations import upgrade_head

pytest_plugins = ["tests.fixtures_channels"]


def _server_url() -> str:
    """The asyncpg URL of the server's maintenance database."""
    if os.environ.get("DATABASE_URL"):
        url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+asyncpg")
        return url.render_as_string(hide_password=False)
    uri = embedded_pg.start(REPO_ROOT / "var" / "pg-test")
    return embedded_pg.sqlalchemy_url(uri, "postgres")


async def _admin(sql: str, server_url: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.exec_driver_sql(sql)
    await engine.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server_url = _server_url()
    name = f"rebook_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    test_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(f'CREATE DATABASE "{name}"', server_url))
    upgrade_head(test_url)
    os.environ["REBOOK_TEST_DATABASE_URL"] = test_url
    try:
        yield test_url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', server_url))


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_size=5)
    db.set_engine(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose commits are savepoints inside one transaction rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture
def app() -> FastAPI:
    """The app `client` calls; a test may override its dependencies (e.g. the clock)."""
    return create_app(frontend_dist=None)


@pytest.fixture
async def client(app: FastAPI, session: AsyncSession) -> AsyncIterator[AsyncClient]:
    async def request_session() -> AsyncIterator[AsyncSession]:
        # Mirrors db.get_session: the request's work commits on success and is rolled back on
        # error. A SAVEPOINT per request keeps the test's own objects loaded after a rollback.
        request = await session.begin_nested()
        try:
            yield session
        except BaseException:
            if request.is_active:
                await request.rollback()
            raise
        else:
            if request.is_active:
                await request.commit()

    app.dependency_overrides[db.get_session] = request_session
    transport = ASGITransport(app=app, client=("203.0.113.7", 51000))
    async with AsyncClient(transport=transport, base_url="http://rebook.test") as client:
        yield client


@pytest.fixture(autouse=True, scope="session")
def _test_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
