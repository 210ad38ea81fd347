"""With no database to be reached, the API answers 503 with Retry-After and says why, and
/healthz says the database is down (tests/delivery/test_database_restart.py stops a real
server mid-campaign; here nothing listens on the database's port at all)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from rebook import db
from rebook.app import create_app
from rebook.auth.tokens import create_access_token
from rebook.config import get_settings
from tests.fakes.net import free_port


@pytest.fixture
async def api_without_database() -> AsyncIterator[AsyncClient]:
    previous = db._engine, db._sessionmaker
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone")
    db.set_engine(engine)
    try:
        transport = ASGITransport(app=create_app(frontend_dist=None))
        async with AsyncClient(transport=transport, base_url="http://rebook.test") as client:
            yield client
    finally:
        db._engine, db._sessionmaker = previous
        await engine.dispose()


async def test_healthz_says_the_database_is_down(api_without_database: AsyncClient) -> None:
    response = await api_without_database.get("/healthz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["database"] == "down"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/owner/campaigns"),
        ("POST", "/api/v1/auth/login"),
    ],
)
async def test_requests_answer_503_not_500(
    api_without_database: AsyncClient, method: str, path: str
) -> None:
    token = create_access_token(1, get_settings())
    response = await api_without_database.request(
        method,
        path,
        headers={"Authorization": f"Bearer {token}"},
        data={"username": "owner@example.com", "password": "a-long-password"},
    )
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["error"] == "DatabaseUnavailable"
    assert "database is unavailable" in body["detail"]


async def test_every_connection_busy_answers_503_not_500(database_url: str) -> None:
    # Under a load the server cannot keep up with, a request waits for a pooled connection
    # until pool_timeout: that is "busy, try again", not a bug.
    previous = db._engine, db._sessionmaker
    url = make_url(database_url).set(drivername="postgresql+asyncpg")
    engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    db.set_engine(engine)
    try:
        transport = ASGITransport(app=create_app(frontend_dist=None))
        token = create_access_token(1, get_settings())
        async with (
            engine.connect(),  # the pool's only connection, held
            AsyncClient(transport=transport, base_url="http://rebook.test") as client,
        ):
            response = await client.get(
                "/api/v1/owner/campaigns", headers={"Authorization": f"Bearer {token}"}
            )
    finally:
        db._engine, db._sessionmaker = previous
        await engine.dispose()

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"] == "DatabaseUnavailable"
    assert "too busy" in response.json()["detail"]
