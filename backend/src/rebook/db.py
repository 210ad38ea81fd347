"""Engine, declarative Base, and the two ways to get a session: `get_session` for a request
(commit on success, rollback on error) and `session_scope` for jobs and the CLI."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar

import asyncpg
import psycopg
import sqlalchemy.exc
from fastapi import Depends
from sqlalchemy import DateTime, MetaData, func, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rebook import embedded_pg
from rebook.config import Settings, get_settings

log = logging.getLogger("rebook.db")
T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


EMBEDDED_DATABASE = "rebook"


def resolve_database_url(settings: Settings) -> str:
    """The SQLAlchemy URL to use: `DATABASE_URL` (any postgres URL), else the embedded server."""
    if settings.database_url:
        url = make_url(settings.database_url).set(drivername="postgresql+asyncpg")
        return url.render_as_string(hide_password=False)
    uri = embedded_pg.start(settings.data_dir / "pg")
    embedded_url = embedded_pg.sqlalchemy_url(uri, EMBEDDED_DATABASE)
    run_to_completion(ensure_database_exists(embedded_url))
    return embedded_url


def run_to_completion(coro: object) -> None:
    """Run a coroutine to its end from sync code, even when an event loop is running (the
    engine is first built lazily, sometimes from inside a request or a worker)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)  # type: ignore[arg-type]
        return
    # Called from inside a running loop: run it in a private thread's loop.
    import threading

    error: list[BaseException] = []

    def runner() -> None:
        try:
            asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if error:
        raise error[0]


async def ensure_database_exists(url: str) -> None:
    """Create the database named in `url` if the server does not have it yet."""
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(
        user=dsn.username,
        password=dsn.password,
        host=dsn.query.get("host") or dsn.host,
        port=dsn.port,
        database="postgres",
    )
    try:
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def get_engine() -> AsyncEngine:
    global _engine, _sessionmaker
    if _engine is None:
        _engine = create_async_engine(
            resolve_database_url(get_settings()), pool_size=10, pool_pre_ping=True
        )
        _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False)
    return _engine


async def asyncpg_of(conn: AsyncConnection) -> Any:
    """asyncpg's own connection under a pooled one, for the worker's hottest statements
    (claims, the journal, the lease), where SQLAlchemy's transaction and row handling cost
    more than the statement. Nothing opens a transaction on it: each statement commits."""
    return (await conn.get_raw_connection()).driver_connection


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


def set_engine(engine: AsyncEngine) -> None:
    """Point the app at another engine (tests, benchmarks)."""
    global _engine, _sessionmaker
    _engine = engine
    _sessionmaker = async_sessionmaker(engine, expire_on_commit=False)


async def dispose_engine() -> None:
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None


async def get_session() -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed when the handler returns, rolled back on error.
    Services only `flush()`."""
    async with get_sessionmaker()() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# "function" scope: the commit happens before the response is sent, so a failed commit is
# never reported as a success.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def plan_for_these_values(session: AsyncSession) -> None:
    """Plan this transaction's statements for the values they carry. After five runs of a
    prepared statement on a connection PostgreSQL may switch to one generic plan, blind to
    the values: a search then no longer sees that its pattern suits the trigram index, nor a
    list of places how few rows it selects, and scans instead."""
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A transaction for jobs and the CLI, committed on success."""
    async with get_sessionmaker()() as session, session.begin():
        yield session


# The database is out of reach (restarting, failing over, the network cut) rather than
# refusing a statement: a worker waits it out, the API answers 503. The SQLSTATEs: 08 connection
# exceptions; 57P01-57P03 shut down by an operator, crashed, starting or stopping; 53300 too
# many connections.
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
_ASYNCPG_UNREACHABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# What a database error may arrive as, wrapped or not (asyncpg's refused connect is a bare
# ConnectionRefusedError; procrastinate wraps psycopg's errors): the API's 503 handler is
# registered for these and answers 503 only when `is_unreachable` says so.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.DBAPIError,
    sqlalchemy.exc.DisconnectionError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    psycopg.Error,
    ConnectionError,
)


def is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) says the database cannot be reached just now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | sqlalchemy.exc.DisconnectionError):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _ASYNCPG_UNREACHABLE):
            return True
        if isinstance(current, psycopg.OperationalError):
            state = current.sqlstate
            # No SQLSTATE: the client's own "connection failed" / "server closed the
            # connection unexpectedly"; the pool's timeout waiting for a connection.
            if state is None or state.startswith(_UNREACHABLE_STATES):
                return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 2.0


async def retry_while_unreachable(
    attempt: Callable[[], Awaitable[T]],
    what: str,
    *,
    after_failure: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """`attempt()`, again and again while the database is out of reach (capped exponential
    backoff, for as long as it takes: a worker outlives a database restart). Only for work
    that is safe to repeat; any other error is raised. `after_failure` drops what the lost
    connection left (a kept connection)."""
    delay = RETRY_FIRST_SECONDS
    down_since: float | None = None
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            if down_since is None:
                down_since = time.monotonic()
                log.warning(
                    "database unreachable, retrying",
                    extra={"during": what, "error": f"{type(exc).__name__}: {exc}"[:300]},
                )
            if after_failure is not None:
                await after_failure()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            continue
        if down_since is not None:
            log.warning(
                "database reachable again",
                extra={"during": what, "waited_seconds": round(time.monotonic() - down_since, 1)},
            )
        return result
