"""Delivery tests run the real worker, which opens its own connections: their data is
really committed (through the API, with the app's own session) and wiped after each test."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from rebook import db
from rebook.app import create_app
from rebook.config import get_settings
from rebook.db import get_sessionmaker, session_scope
from rebook.delivery.runtime import close_senders, run_worker
from rebook.migrations import upgrade_head
from rebook.models import Place, User
from rebook.whatsapp import windows
from tests.factories import auth_headers, create_customer, create_owner, create_place
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER, FakeTwilio
from tests.private_pg import PrivatePostgres

BASE = "/api/v1/owner/campaigns"

TABLES = (
    "outbox_messages, audit_events, marketing_suppressions, campaign_deliveries, "
    "campaign_delivery_counts, campaign_recipients, campaign_messages, campaign_places, "
    "campaigns, bookings, places, users, send_rate_slots, email_bounces, email_suppressions, "
    "send_holds, procrastinate_jobs, "
    "procrastinate_periodic_defers, procrastinate_workers, whatsapp_service_windows, "
    "whatsapp_templates"
)


@pytest.fixture
def delivery_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Fast settings for tests; a test may set more before it starts the worker."""
    monkeypatch.setenv("EMAIL_RATE_PER_SECOND", "1000")
    monkeypatch.setenv("WHATSAPP_RATE_PER_SECOND", "1000")
    monkeypatch.setenv("DELIVERY_RETRY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("DELIVERY_BATCH_SIZE", "20")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://rebook.example")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture
def smtp_backend(delivery_env: pytest.MonkeyPatch, smtp_sink: SmtpSink) -> SmtpSink:
    delivery_env.setenv("EMAIL_BACKEND", "smtp")
    delivery_env.setenv("SMTP_HOST", "127.0.0.1")
    delivery_env.setenv("SMTP_PORT", str(smtp_sink.port))
    delivery_env.setenv("SMTP_CONNECTIONS", "3")
    get_settings.cache_clear()
    return smtp_sink


@pytest.fixture
def twilio_backend(delivery_env: pytest.MonkeyPatch, fake_twilio: FakeTwilio) -> FakeTwilio:
    delivery_env.setenv("WHATSAPP_BACKEND", "twilio")
    delivery_env.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    delivery_env.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    delivery_env.setenv("TWILIO_WHATSAPP_NUMBER", WHATSAPP_NUMBER)
    delivery_env.setenv("TWILIO_API_BASE_URL", fake_twilio.base_url)
    delivery_env.setenv("TWILIO_CONTENT_BASE_URL", fake_twilio.base_url)
    get_settings.cache_clear()
    return fake_twilio


@pytest.fixture
async def committed(engine: AsyncEngine, delivery_env: pytest.MonkeyPatch) -> AsyncIterator[None]:
    yield
    await close_senders()
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def api(committed: None) -> AsyncIterator[AsyncClient]:
    app = create_app(frontend_dist=None)
    transport = ASGITransport(app=app, client=("203.0.113.9", 51000))
    async with AsyncClient(transport=transport, base_url="http://rebook.test") as client:
        yield client


@dataclass
class Shop:
    owner: User
    paris: Place
    customers: list[User]

    @property
    def headers(self) -> dict[str, str]:
        return auth_headers(self.owner)


async def make_shop(customers: int = 5, phone: bool = True, wrote: bool = True) -> Shop:
    """An owner, a place and its customers; with `wrote`, each customer with a phone wrote
    to the WhatsApp sender a minute ago (free text reaches them)."""
    async with get_sessionmaker()() as session:  # the factories commit
        owner = await create_owner(session)
        paris = await create_place(session, owner, name="Salon Paris")
        people = [
            await create_customer(
                session,
                first_name=f"Client{i}",
                phone=f"06 12 34 {i // 100 % 100:02d} {i % 100:02d}" if phone else None,
                booked_at=[paris],
            )
            for i in range(customers)
        ]
        if wrote:
            a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
            for person in people:
                if person.phone_e164:
                    await windows.record_inbound(session, person.phone_e164, a_minute_ago)
            await session.commit()
    return Shop(owner, paris, people)


async def start_campaign(
    api: AsyncClient, shop: Shop, *, send_now: bool = True, **config: Any
) -> dict[str, Any]:
    messaging_config = {
        "channels": ["email", "whatsapp"],
        "email_subject": "Hello {{ first_name }}",
        "email_body": "<p>Come back to {{ place_name }}, {{ first_name }}!</p>",
        "whatsapp_message": "Hi {{ first_name }}, see you at {{ place_name }}",
        **config,
    }
    created = await api.post(
        BASE,
        json={
            "name": "Winback",
            "campaign_type": "messaging",
            "place_ids": [shop.paris.id],
            "messaging_config": messaging_config,
        },
        headers=shop.headers,
    )
    assert created.status_code == 201, created.text
    campaign: dict[str, Any] = created.json()
    added = await api.post(
        f"{BASE}/{campaign['id']}/recipients", json={"select_all": {}}, headers=shop.headers
    )
    assert added.status_code == 200, added.text
    sent = await api.post(
        f"{BASE}/{campaign['id']}/send",
        params={"send_immediately": str(send_now).lower()},
        headers=shop.headers,
    )
    assert sent.status_code == 200, sent.text
    return campaign


async def drain() -> None:
    """Run a worker until the queue has nothing due (a worker told not to wait may stop
    between a job and the jobs that job deferred)."""
    for _ in range(50):
        await run_worker(install_signal_handlers=False, wait=False)
        async with session_scope() as session:
            due = await session.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                    "AND (scheduled_at IS NULL OR scheduled_at <= now())"
                )
            )
        if not due:
            return
    raise AssertionError("the queue never drained")


async def retries_due_now(campaign_id: int) -> None:
    """Moves the campaign's waiting retries, and the batch job planned for them, to now: as
    if their backoff had passed. Tests set a backoff no drain can reach (`long_backoff`), so
    each drain's outcome is exact, then call this instead of waiting on the clock."""
    async with session_scope() as session:
        await session.execute(
            text(
                "UPDATE campaign_deliveries SET next_attempt_at = clock_timestamp() "
                "WHERE campaign_id = :id AND status = 'pending' AND next_attempt_at IS NOT NULL"
            ),
            {"id": campaign_id},
        )
        moved = await session.execute(
            text(
                "UPDATE procrastinate_jobs SET scheduled_at = clock_timestamp() "
                "WHERE status = 'todo' AND (args->>'campaign_id')::int = :id "
                "AND scheduled_at > clock_timestamp() RETURNING id"
            ),
            {"id": campaign_id},
        )
        assert moved.all(), "no retry was waiting"


async def dead_workers_go_stale(seconds: float) -> None:
    """What waiting `seconds` after a worker was killed does, without the wait: its heartbeat
    and the lease (`updated_at`) of the deliveries it left `sending` move back that far.
    Only a dead worker's rows may be moved: a live one would renew them."""
    async with session_scope() as session:
        back = {"back": seconds}
        await session.execute(
            text(
                "UPDATE procrastinate_workers "
                "SET last_heartbeat = last_heartbeat - make_interval(secs => :back)"
            ),
            back,
        )
        await session.execute(
            text(
                "UPDATE campaign_deliveries SET updated_at = updated_at - make_interval(secs => "
                ":back) WHERE status = 'sending'"
            ),
            back,
        )


def long_backoff(env: pytest.MonkeyPatch) -> None:
    """Retries at least 5 minutes away: a test moves them forward with `retries_due_now`."""
    env.setenv("DELIVERY_RETRY_BASE_SECONDS", "600")
    get_settings.cache_clear()


async def stats(api: AsyncClient, shop: Shop, campaign_id: int) -> dict[str, Any]:
    response = await api.get(f"{BASE}/{campaign_id}/messaging-stats", headers=shop.headers)
    body: dict[str, Any] = response.json()
    return body


async def deliveries(api: AsyncClient, shop: Shop, campaign_id: int) -> list[dict[str, Any]]:
    response = await api.get(
        f"{BASE}/{campaign_id}/recipients", params={"limit": 200}, headers=shop.headers
    )
    return [{"name": r["name"], **d} for r in response.json()["items"] for d in r["deliveries"]]


@dataclass
class PrivateDatabase:
    """A PostgreSQL server of the tests' own, with a migrated `rebook` database: the fault
    tests stop and start it (tests/private_pg.py)."""

    server: PrivatePostgres
    url: str  # asyncpg URL of its `rebook` database


def private_database(root: Path) -> Iterator[PrivateDatabase]:
    with PrivatePostgres(root) as server:

        async def create() -> None:
            admin = create_async_engine(server.url, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.exec_driver_sql("CREATE DATABASE rebook")
            await admin.dispose()

        asyncio.run(create())
        url = make_url(server.url).set(database="rebook").render_as_string(hide_password=False)
        upgrade_head(url)
        yield PrivateDatabase(server, url)


@pytest.fixture(scope="module")
def private_db() -> Iterator[PrivateDatabase]:
    root = Path(tempfile.mkdtemp(prefix="rebook-pg-"))
    try:
        yield from private_database(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def private_engine(private_db: PrivateDatabase) -> AsyncIterator[AsyncEngine]:
    """The test's own engine on the private server (the factories write through it)."""
    previous = db._engine, db._sessionmaker
    engine = create_async_engine(private_db.url, pool_pre_ping=True)
    db.set_engine(engine)
    try:
        yield engine
    finally:
        db._engine, db._sessionmaker = previous
        private_db.server.ensure_running()
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        await engine.dispose()
