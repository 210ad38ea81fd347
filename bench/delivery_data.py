"""Data and plumbing for the delivery-engine benchmark (bench/delivery_bench.py).

The database is `rebook_bench_delivery` on 127.0.0.1:5432 (user postgres), or DATABASE_URL.
One owner, one place and up to 1 000 000 consenting customers who booked there are generated
once with INSERT … SELECT generate_series and kept. A campaign is created through the API
(`POST /owner/campaigns`), its recipients and deliveries are inserted directly with SQL, and
it is sent through the API (`POST …/send`), exactly as the web app would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/rebook_bench_delivery"
DOMAIN = "bench-delivery.invalid"
API = "/api/v1/owner/campaigns"
WORKER = [sys.executable, "-c", "from rebook.cli import main; main()", "worker"]

EMAIL_SUBJECT = "{{ first_name }}, we miss you at {{ place_name }}"
# About 1.2 kB of HTML, like a short newsletter.
EMAIL_BODY = (
    "<h1>Hello {{ first_name }}!</h1>"
    "<p>It has been a while since your last visit to {{ place_name }}. "
    "This month every treatment comes with a free hand massage, and our new colour bar "
    "is open from Tuesday to Saturday.</p>"
    + "<p>Book online in two minutes, or call us: we keep a chair for you. "
    "Bring a friend and you both get 10 % off your next appointment.</p>"
    * 5
    + "<p>See you soon,<br>The team at {{ place_name }}</p>"
)
WHATSAPP_MESSAGE = "Hi {{ first_name }}, it has been a while! Book again at {{ place_name }}."


def database_url() -> str:
    url = make_url(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def prepare_database() -> str:
    """Create the benchmark database if missing and migrate it; point the app at it."""
    url = database_url()
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    name = parsed.database
    probe = subprocess.run(
        [
            "psql",
            admin.render_as_string(hide_password=False),
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if probe.stdout.strip() != "1":
        subprocess.run(
            [
                "psql",
                admin.render_as_string(hide_password=False),
                "-qc",
                f'CREATE DATABASE "{name}"',
            ],
            check=True,
        )
    from rebook.migrations import upgrade_head

    upgrade_head(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("PUBLIC_BASE_URL", "https://rebook.example")
    from rebook.config import get_settings

    get_settings.cache_clear()
    return url


async def ensure_customers(engine: AsyncEngine, wanted: int) -> tuple[int, int]:
    """The benchmark owner and place, with at least `wanted` customers; (owner_id, place_id)."""
    async with engine.begin() as conn:
        owner_id = await conn.scalar(
            text("SELECT id FROM users WHERE email = :e"), {"e": f"owner@{DOMAIN}"}
        )
        if owner_id is None:
            owner_id = await conn.scalar(
                text(
                    "INSERT INTO users (email, first_name, last_name, role, "
                    "gdpr_marketing_consent) "
                    "VALUES (:e, 'Bench', 'Owner', 'business_owner', false) RETURNING id"
                ),
                {"e": f"owner@{DOMAIN}"},
            )
            await conn.execute(
                text(
                    "INSERT INTO places (owner_id, name, timezone, country_code) "
                    "VALUES (:o, 'Salon Bench', 'Europe/Paris', 'FR')"
                ),
                {"o": owner_id},
            )
        place_id = await conn.scalar(
            text("SELECT id FROM places WHERE owner_id = :o"), {"o": owner_id}
        )
        have = await conn.scalar(
            text("SELECT count(*) FROM users WHERE role = 'customer' AND email LIKE :d"),
            {"d": f"c%@{DOMAIN}"},
        )
    step = 200_000
    start = int(have or 0)
    while start < wanted:
        stop = min(wanted, start + step)
        began = time.monotonic()
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    """
                    INSERT INTO users (email, first_name, last_name, phone, phone_e164, role,
                                       gdpr_marketing_consent, gdpr_marketing_consent_at,
                                       gdpr_consent_source)
                    SELECT 'c' || i || '@' || :domain, 'Client' || i, 'Bench',
                           '06' || lpad(i::text, 8, '0'), '+336' || lpad(i::text, 8, '0'),
                           'customer', true, now(), 'booking'
                    FROM generate_series(:lo, :hi - 1) AS i
                    """
                ),
                {"domain": DOMAIN, "lo": start, "hi": stop},
            )
            await conn.execute(
                text(
                    """
                    INSERT INTO bookings (place_id, user_id, starts_at, status)
                    SELECT :place, u.id, now() - interval '90 days', 'completed'
                    FROM users u
                    WHERE u.role = 'customer' AND u.email LIKE :d
                      AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.user_id = u.id)
                    """
                ),
                {"place": place_id, "d": f"c%@{DOMAIN}"},
            )
        print(
            f"  customers {start:,}-{stop:,} generated in {time.monotonic() - began:.1f} s",
            flush=True,
        )
        start = stop
    if start > int(have or 0):
        async with engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM ANALYZE users"))
            await conn.execute(text("VACUUM ANALYZE bookings"))
    return int(owner_id), int(place_id)


def owner_headers(owner_id: int) -> dict[str, str]:
    from rebook.auth.tokens import create_access_token
    from rebook.config import get_settings

    return {"Authorization": f"Bearer {create_access_token(owner_id, get_settings())}"}


async def open_whatsapp_windows(conn: Any, campaign_id: int) -> None:
    """The campaign's customers all wrote to the business just now: free text reaches them
    (WhatsApp's 24-hour window), so the benchmarks measure sends, not skips."""
    await conn.execute(
        text(
            "INSERT INTO whatsapp_service_windows (phone_e164, last_inbound_at) "
            "SELECT DISTINCT customer_phone_e164, now() FROM campaign_recipients "
            "WHERE campaign_id = :c AND customer_phone_e164 IS NOT NULL "
            "ON CONFLICT (phone_e164) DO UPDATE SET last_inbound_at = excluded.last_inbound_at"
        ),
        {"c": campaign_id},
    )


async def create_campaign(
    api: Any, engine: AsyncEngine, owner_id: int, place_id: int, size: int, channel: str
) -> int:
    """A draft messaging campaign on `channel` with `size` recipients and deliveries."""
    config: dict[str, Any] = {"channels": [channel]}
    if channel == "email":
        config |= {"email_subject": EMAIL_SUBJECT, "email_body": EMAIL_BODY}
    else:
        config |= {"whatsapp_message": WHATSAPP_MESSAGE}
    created = await api.post(
        API,
        json={
            "name": f"Bench {channel} {size}",
            "campaign_type": "messaging",
            "place_ids": [place_id],
            "messaging_config": config,
        },
        headers=owner_headers(owner_id),
    )
    assert created.status_code == 201, created.text
    campaign_id = int(created.json()["id"])
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO campaign_recipients (campaign_id, user_id, place_id,
                    customer_first_name, customer_last_name, customer_email, customer_phone,
                    customer_phone_e164)
                SELECT :c, u.id, :p, u.first_name, u.last_name, u.email, u.phone, u.phone_e164
                FROM users u WHERE u.role = 'customer' AND u.email LIKE :d
                ORDER BY u.id LIMIT :n
                """
            ),
            {"c": campaign_id, "p": place_id, "d": f"c%@{DOMAIN}", "n": size},
        )
        await conn.execute(
            text(
                "INSERT INTO campaign_deliveries (campaign_id, recipient_id, channel, status) "
                "SELECT :c, id, :ch, 'pending' FROM campaign_recipients WHERE campaign_id = :c "
                "ORDER BY id"
            ),
            {"c": campaign_id, "ch": channel},
        )
        await open_whatsapp_windows(conn, campaign_id)
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("ANALYZE campaign_recipients"))
        await conn.execute(text("ANALYZE campaign_deliveries"))
    return campaign_id


async def schedule(api: Any, owner_id: int, campaign_id: int, when: datetime) -> None:
    current = await api.get(f"{API}/{campaign_id}", headers=owner_headers(owner_id))
    config = current.json()["messaging_config"]
    config["scheduled_send_time"] = when.isoformat()
    response = await api.patch(
        f"{API}/{campaign_id}", json={"messaging_config": config}, headers=owner_headers(owner_id)
    )
    assert response.status_code == 200, response.text


async def send(api: Any, owner_id: int, campaign_id: int, now: bool = True) -> float:
    """POST …/send; returns the wall-clock time (time.time()) the request was made."""
    at = time.time()
    response = await api.post(
        f"{API}/{campaign_id}/send",
        params={"send_immediately": str(now).lower()},
        headers=owner_headers(owner_id),
    )
    assert response.status_code == 200, response.text
    return at


async def cleanup(engine: AsyncEngine) -> None:
    """Remove earlier benchmark campaigns and jobs (their deliveries go by cascade)."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM procrastinate_jobs"))
        await conn.execute(text("DELETE FROM procrastinate_workers"))
        # What refers to deliveries (bounces, suppressions) goes with them.
        await conn.execute(text("TRUNCATE campaign_deliveries, outbox_messages CASCADE"))
        # Benchmark campaigns sent messages, which the database keeps unless told otherwise.
        await conn.execute(text("SET LOCAL rebook.erase_history = on"))
        await conn.execute(text("TRUNCATE audit_events"))
        await conn.execute(text("DELETE FROM campaigns"))
        await conn.execute(text("DELETE FROM send_rate_slots"))
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE campaign_recipients"))


async def counts(engine: AsyncEngine, campaign_id: int) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT status, sum(count)::bigint FROM campaign_delivery_counts "
                    "WHERE campaign_id = :c GROUP BY status"
                ),
                {"c": campaign_id},
            )
        ).all()
    return {status: int(n) for status, n in rows}


async def send_times(engine: AsyncEngine, campaign_id: int) -> tuple[float, float, int]:
    """(first sent_at, last sent_at, number sent) as epoch seconds."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT extract(epoch FROM min(sent_at)), extract(epoch FROM max(sent_at)), "
                    "count(sent_at) FROM campaign_deliveries WHERE campaign_id = :c"
                ),
                {"c": campaign_id},
            )
        ).one()
    return float(row[0] or 0), float(row[1] or 0), int(row[2])


def bench_engine(url: str) -> AsyncEngine:
    return create_async_engine(url, pool_size=4)


def worker_env(**settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "PUBLIC_BASE_URL": "https://rebook.example",
        **settings,
    }


def spawn_worker(**settings: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        WORKER, env=worker_env(**settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
