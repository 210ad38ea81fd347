"""The app on a database of its own, for tests whose requests must really commit: in this
process on another event loop than the tests' (schemathesis' ASGI client; each event loop
gets its own engine on that database), or as a real uvicorn server in a process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from rebook import db
from rebook.app import create_app
from rebook.migrations import upgrade_head
from tests.fakes.net import free_port


async def _admin(sql: str, server_url: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.exec_driver_sql(sql)
    await engine.dispose()


@contextmanager
def private_database(test_url: str, suffix: str) -> Iterator[str]:
    """A migrated database beside the test run's own, dropped on exit."""
    url = make_url(test_url)
    name = f"{url.database}_{suffix}"
    server_url = url.set(database="postgres").render_as_string(hide_password=False)
    asyncio.run(_admin(f'CREATE DATABASE "{name}"', server_url))
    private_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade_head(private_url)
    try:
        yield private_url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', server_url))


def app_on(database_url: str) -> FastAPI:
    """The API whose requests commit to `database_url`, from whichever event loop runs it."""
    app = create_app(frontend_dist=None)
    use_database(app, database_url)
    return app


def use_database(app: FastAPI, database_url: str) -> None:
    makers: dict[asyncio.AbstractEventLoop, async_sessionmaker[AsyncSession]] = {}

    async def request_session() -> AsyncIterator[AsyncSession]:
        # Mirrors db.get_session on this loop's own engine.
        loop = asyncio.get_running_loop()
        if loop not in makers:
            engine = create_async_engine(database_url, pool_size=5, max_overflow=40)
            makers[loop] = async_sessionmaker(engine, expire_on_commit=False)
        async with makers[loop]() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()

    app.dependency_overrides[db.get_session] = request_session
    app.state.private_sessionmakers = makers


async def dispose_loop_engine(app: FastAPI) -> None:
    """Close the engine this event loop used, before the loop ends."""
    maker = app.state.private_sessionmakers.pop(asyncio.get_running_loop(), None)
    if maker is not None:
        await maker.kw["bind"].dispose()


def without_lifespan(app: FastAPI) -> Any:
    """The app minus its lifespan, whose shutdown disposes the tests' global engine."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        await app(scope, receive, send)

    return asgi


@contextmanager
def uvicorn_process(database_url: str) -> Iterator[str]:
    """`uvicorn rebook.app:create_app` on `database_url` in a process of its own (as in
    production: nothing else shares its interpreter), on a free port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": make_url(database_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False),
    }
    command = [sys.executable, "-m", "uvicorn", "rebook.app:create_app", "--factory"]
    options = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen([*command, *options], env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=10)
