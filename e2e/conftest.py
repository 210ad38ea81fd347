"""End-to-end fixtures: a fresh PostgreSQL database (on DATABASE_URL's server when set, else the
embedded one), migrated and loaded with the demo data (plus a large audience when a
`large_audience` test is selected), a real `rebook serve` on a free port serving the built web
app, and Debian's Chromium driven by Playwright.

    make frontend && cd backend && uv run --frozen pytest ../e2e        # `make e2e`
    make frontend && cd backend && uv run --frozen pytest ../e2e -m large_audience   # `make e2e-large`
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

REPO = Path(__file__).resolve().parents[1]
DIST = REPO / "frontend" / "dist"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The large audience for the select-all timing (customers of one place of a second owner).
LARGE_AUDIENCE = int(os.environ.get("E2E_LARGE_AUDIENCE", "200000"))
SCALE_OWNER = "scale@rebook.test"
PASSWORD = "rebook-demo"


log = logging.getLogger("e2e")


NOTES: list[str] = []


def note(message: str) -> None:
    """A line for the E2E log: test-artifacts/e2e.log, and the end of pytest's report."""
    NOTES.append(message)
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "e2e.log").open("a") as f:
        f.write(f"{time.strftime('%H:%M:%S')} {message}\n")
    log.warning(message)


def _server_url() -> str:
    from rebook import embedded_pg
    from rebook.config import REPO_ROOT

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


LARGE_AUDIENCE_SQL = """
WITH new_users AS (
  INSERT INTO users (email, first_name, last_name, phone, phone_e164, role,
                     gdpr_marketing_consent, gdpr_marketing_consent_at)
  SELECT CASE WHEN g % 10 < 9 THEN 'scale.' || g || '@example.com' END,
         (ARRAY['Ada','Ben','Cleo','Dan','Eve','Finn','Gus','Hana'])[1 + g % 8],
         'Customer' || lpad(g::text, 6, '0'),
         CASE WHEN g % 10 >= 3 THEN '06' || lpad((g % 100000000)::text, 8, '0') END,
         CASE WHEN g % 10 >= 3 THEN '+336' || lpad((g % 100000000)::text, 8, '0') END,
         'customer', true, now()
  FROM generate_series(1, :n) AS g
  RETURNING id
)
INSERT INTO bookings (place_id, user_id, starts_at, status)
SELECT :place, id, now() - interval '10 days', 'completed' FROM new_users
"""


async def _seed(url: str, audience: int) -> None:
    """The demo data, then an owner with one place and `audience` consenting, reachable
    customers (90 % with an email, 70 % with a phone), generated in SQL in seconds."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from rebook.auth.passwords import hash_password
    from rebook.demo import seed_demo

    engine = create_async_engine(url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        assert await seed_demo(session)
        await session.commit()
    # The bookings triggers keep booking_history by joining the written rows to bookings:
    # planned on never-analysed tables (autovacuum has not come by yet) that join is a
    # nested loop, quadratic in the rows written at once (200,000 here: about 45 minutes).
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.exec_driver_sql("ANALYZE")
    async with engine.begin() as conn:
        owner_id = (
            await conn.execute(
                text(
                    "INSERT INTO users (email, first_name, last_name, role, password_hash, "
                    "gdpr_marketing_consent) "
                    "VALUES (:email, 'Sam', 'Scale', 'business_owner', :hash, false) RETURNING id"
                ),
                {"email": SCALE_OWNER, "hash": hash_password(PASSWORD)},
            )
        ).scalar_one()
        place_id = (
            await conn.execute(
                text(
                    "INSERT INTO places (owner_id, name, timezone, country_code) "
                    "VALUES (:owner, 'Mega Spa Lyon', 'Europe/Paris', 'FR') RETURNING id"
                ),
                {"owner": owner_id},
            )
        ).scalar_one()
        if audience:
            await conn.execute(text(LARGE_AUDIENCE_SQL), {"n": audience, "place": place_id})
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE users"))
        await conn.execute(text("ANALYZE bookings"))
        await conn.commit()
    await engine.dispose()


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    from rebook.migrations import upgrade_head

    # Seeding 200,000 customers costs more than the rest of the run: only for the tests
    # that use them (`-m large_audience`, `make e2e-large`).
    large = any(item.get_closest_marker("large_audience") for item in request.session.items)

    server_url = _in_thread(_server_url)
    name = f"rebook_e2e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    _in_thread(asyncio.run, _admin(f'CREATE DATABASE "{name}"', server_url))
    try:
        _in_thread(upgrade_head, url)
        started = time.perf_counter()
        _in_thread(asyncio.run, _seed(url, LARGE_AUDIENCE if large else 0))
        note(f"database {name} seeded in {time.perf_counter() - started:.1f} s")
        yield url
    finally:
        _in_thread(
            asyncio.run, _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', server_url)
        )


def _in_thread(fn, *args):  # type: ignore[no-untyped-def]
    """Run `fn` in its own thread: Playwright's sync API keeps an event loop on this one."""
    result: list[object] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn(*args))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0] if result else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def base_url(database_url: str) -> Iterator[str]:
    if not (DIST / "index.html").is_file():
        pytest.fail("frontend/dist is missing: run `make frontend` (npm ci && npm run build).")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "EMAIL_BACKEND": "outbox",
        "WHATSAPP_BACKEND": "outbox",
        "LOG_LEVEL": "WARNING",
    }
    worker = [] if os.environ.get("E2E_WORKER", "1") == "1" else ["--no-worker"]
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "e2e-server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from rebook.cli import main; main()", "serve", *worker],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "rebook serve did not start:\n" + (ARTIFACTS / "e2e-server.log").read_text()
                )
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, base_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]  # noqa: ARG001
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if NOTES:
        terminalreporter.section("e2e timings (also in test-artifacts/e2e.log)")
        for line in NOTES:
            terminalreporter.write_line(line)
