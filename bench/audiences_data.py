"""Data for the audiences benchmark: messaging_data.py's world (owner A: 20 places, 200 000
customers, 1 000 000 bookings; two other owners; suppressions) in a database of its own,
`audiences_bench`, with A's bookings given what real books have: services in categories,
prices, and rhythms.

Every A booking keeps its customer and place; the customer's bookings are re-timed by kind:
one booking is a one-visit customer; with more, 60 % are active regulars (a rhythm of 4-8
weeks, shorter for the most frequent, give or take 4 days; half of them have their next
visit booked), 25 % lapsed regulars (the same, but the last visit 100-400 days ago) and 15 %
occasional (the random dates messaging_data gave them). 4 % of past bookings are no-shows,
3 % cancelled. Each customer mostly books one preferred service. booking_history is then
computed once for every (owner, customer), as its triggers would have.

    cd backend && uv run --frozen python ../bench/audiences_data.py [--force]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import asyncpg
from messaging_data import Target, generate, resolve_target
from sqlalchemy.engine import make_url

from rebook.migrations import upgrade_head

DATABASE = "audiences_bench"
DATA_VERSION = 1
META_KEY = "audiences"

# (name, category, price in cents) of owner A's services.
SERVICES = [
    ("Cut & blow-dry", "Hair", 4500),
    ("Men's cut", "Hair", 2800),
    ("Colour", "Colour", 8500),
    ("Balayage", "Colour", 14000),
    ("Manicure", "Nails", 3000),
    ("Gel nails", "Nails", 4200),
    ("Pedicure", "Nails", 3800),
    ("Facial", "Skin", 6500),
    ("Peel", "Skin", 9000),
    ("Brow shaping", "Skin", 1800),
]


async def _step(conn: asyncpg.Connection, label: str, sql: str, *args: Any) -> None:
    started = time.perf_counter()
    status = await conn.execute(sql, *args)
    print(f"  {label}: {status} ({time.perf_counter() - started:.1f} s)", flush=True)


async def give_bookings_rhythm(conn: asyncpg.Connection, meta: dict[str, Any]) -> None:
    owner_a, places_a = meta["owner_a"], meta["places_a"]
    service_ids = [
        r["id"]
        for r in await conn.fetch(
            "INSERT INTO services (owner_id, name, category) "
            "SELECT $1, n, c FROM unnest($2::text[], $3::text[]) AS s(n, c) RETURNING id",
            owner_a,
            [n for n, _, _ in SERVICES],
            [c for _, c, _ in SERVICES],
        )
    ]
    prices = [p for _, _, p in SERVICES]
    await conn.execute("SELECT setseed(0.18)")
    # Status, dates and services change; customers and places do not, so marketing_audience
    # (which reads only those) stays exact while the user triggers are off.
    await conn.execute("ALTER TABLE bookings DISABLE TRIGGER USER")
    await _step(
        conn,
        "per-customer rhythm",
        """
        CREATE TEMP TABLE rhythm ON COMMIT DROP AS
        SELECT user_id, n, kind,
               greatest(7, least(every_days, 900.0 / n)) AS every_days,
               CASE WHEN kind = 'lapsed' THEN 100 + floor(random() * 300)
                    ELSE random() * greatest(7, least(every_days, 900.0 / n)) END AS lapse_days,
               kind = 'regular' AND random() < 0.5 AS next_booked,
               1 + floor(random() * 10)::int AS preferred
        FROM (
          SELECT user_id, n, 28 + floor(random() * 29) AS every_days,
                 CASE WHEN n = 1 THEN 'once'
                      WHEN r < 0.60 THEN 'regular' WHEN r < 0.85 THEN 'lapsed'
                      ELSE 'occasional' END AS kind
          FROM (SELECT user_id, count(*) AS n, random() AS r FROM bookings
                WHERE place_id = ANY($1::int[]) GROUP BY user_id ORDER BY user_id) c
        ) k
        """,
        places_a,
    )
    await _step(
        conn,
        "re-time A's bookings",
        """
        UPDATE bookings b SET
          starts_at = t.at,
          status = CASE WHEN t.at > now() THEN 'upcoming'
                        WHEN t.roll < 0.04 THEN 'no_show'
                        WHEN t.roll < 0.07 THEN 'cancelled' ELSE 'completed' END,
          service_id = ($2::int[])[t.service],
          price_amount = ($3::int[])[t.service],
          currency = 'EUR'
        FROM (
          SELECT o.id, random() AS roll,
                 CASE WHEN random() < 0.7 THEN r.preferred ELSE 1 + floor(random() * 10)::int
                 END AS service,
                 CASE WHEN r.kind IN ('once', 'occasional') THEN least(o.starts_at, now())
                      WHEN r.next_booked AND o.k = r.n
                        THEN now() + random() * r.every_days * interval '1 day'
                      ELSE now() - (r.lapse_days
                                    + (r.n - o.k - CASE WHEN r.next_booked THEN 1 ELSE 0 END)
                                      * r.every_days
                                    + (random() * 8 - 4)) * interval '1 day'
                 END AS at
          FROM (SELECT id, user_id, starts_at,
                       row_number() OVER (PARTITION BY user_id ORDER BY id) AS k
                FROM bookings WHERE place_id = ANY($1::int[])) o
          JOIN rhythm r ON r.user_id = o.user_id
        ) t
        WHERE b.id = t.id
        """,
        places_a,
        service_ids,
        prices,
    )
    await conn.execute("ALTER TABLE bookings ENABLE TRIGGER USER")
    await _step(
        conn,
        "booking_history",
        "SELECT booking_history_sync(array_agg(owner_id), array_agg(user_id)) "
        "FROM (SELECT DISTINCT p.owner_id, b.user_id FROM bookings b "
        "JOIN places p ON p.id = b.place_id) k",
    )


async def ensure_data(force: bool = False) -> tuple[Target, dict[str, Any]]:
    """Migrate audiences_bench (on 127.0.0.1:5432, whatever DATABASE_URL says: the other
    benchmarks' data stays as it is) and generate its data unless it is already there."""
    os.environ.pop("DATABASE_URL", None)
    target = await resolve_target(DATABASE)
    await asyncio.to_thread(upgrade_head, target.sqlalchemy_url)
    conn = await asyncpg.connect(target.dsn)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb)"
        )
        raw = await conn.fetchval("SELECT value FROM bench_meta WHERE key = $1", META_KEY)
        meta = json.loads(raw) if raw else None
        if meta is not None and meta.get("version") == DATA_VERSION and not force:
            return target, meta
        if await conn.fetchval("SELECT count(*) FROM users"):
            await conn.execute(
                "TRUNCATE users, places, bookings, services, campaigns, campaign_places, "
                "campaign_recipients, campaign_deliveries, campaign_delivery_counts, "
                "marketing_suppressions, audit_events, outbox_messages, bench_meta CASCADE"
            )
        print(f"Generating the audiences data in {make_url(target.sqlalchemy_url).database} …")
        started = time.perf_counter()
        async with conn.transaction():
            # booking_history is computed once at the end, not for each insert on the way.
            await conn.execute("ALTER TABLE bookings DISABLE TRIGGER bookings_history_insert")
            meta = await generate(conn)
            await conn.execute("ALTER TABLE bookings ENABLE TRIGGER bookings_history_insert")
            await give_bookings_rhythm(conn, meta)
            meta["version"] = DATA_VERSION
            await conn.execute(
                "INSERT INTO bench_meta (key, value) VALUES ($1, $2) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                META_KEY,
                json.dumps(meta),
            )
        await _step(conn, "vacuum analyze", "VACUUM ANALYZE")
        print(f"Generated in {time.perf_counter() - started:.0f} s.")
        return target, meta
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="regenerate even if present")
    args = parser.parse_args()
    target, meta = asyncio.run(ensure_data(force=args.force))
    print(f"Audiences data ready in {make_url(target.sqlalchemy_url).database}: {meta}")


if __name__ == "__main__":
    main()
