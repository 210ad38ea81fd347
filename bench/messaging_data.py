"""Data for the messaging benchmark, generated in PostgreSQL with INSERT … SELECT generate_series.

One owner ("A") with 20 places, 200 000 customers and 1 000 000 bookings; two other owners with
5 places each, 50 000 customers (10 000 of them also A's) and 200 000 bookings; 270 000
registered users who booked at none of these places (they make the 500 000 recipients, i.e.
1 000 000 deliveries, of the stats campaign possible). About 70 % of customers consent to
marketing; 85 % have an email, 72 % a phone (a few numbers unreadable, so phone_e164 is NULL);
3 % / 2 % of A's customers unsubscribed from A's emails / WhatsApp.

The database is `DATABASE_URL` when set, else `rebook_bench` on the PostgreSQL at
127.0.0.1:5432 (created if missing). It is migrated to head on every run; the data is generated
once and kept (a row in `bench_meta` marks it), so re-runs are quick.

    cd backend && uv run --frozen python ../bench/messaging_data.py [--force]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from rebook.migrations import upgrade_head

DATA_VERSION = 1
LOCAL_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "rebook_bench"

A_CUSTOMERS = 200_000
OTHER_ONLY_CUSTOMERS = 40_000
SHARED_CUSTOMERS = 10_000  # A's customers who also booked at the other owners' places
NO_BOOKING_USERS = 270_000
A_BOOKINGS = 1_000_000
OTHER_BOOKINGS = 200_000
STATS_RECIPIENTS = 500_000  # x 2 channels = 1 000 000 deliveries


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "Adam Adele Agathe Alice Amelie Anna Antoine Arthur Aurelie Axel Baptiste Benjamin Camille "
    "Caroline Celine Charles Charlotte Chloe Claire Clement Daniel David Denise Dylan Elena "
    "Elise Emile Emma Enzo Eric Ethan Eva Fabien Florence Francois Gabriel Gael Hannah Hugo "
    "Ines Isabelle Jacques Jade Jean Jeanne Jonas Jules Julia Julien Karim Laura Lea Leo Lina "
    "Louis Louise Luca Lucas Lucie Manon Marc Margaux Marie Martin Mathilde Maxime Mia Nathan "
    "Nicolas Noah Nora Oliver Olivia Oscar Paul Pauline Pierre Quentin Raphael Romain Rose "
    "Sacha Samuel Sarah Simon Sofia Sophie Theo Thomas Tom Valentin Victor Yasmine Yanis Zoe"
)
LAST_NAMES = _words(
    "Bernard Dubois Durand Lefebvre Leroy Moreau Simon Laurent Michel Garcia David Bertrand "
    "Roux Vincent Fournier Morel Girard Andre Mercier Dupont Lambert Bonnet Francois Martinez "
    "Legrand Garnier Faure Rousseau Blanc Guerin Muller Henry Roussel Nicolas Perrin Morin "
    "Mathieu Clement Gauthier Dumont Lopez Fontaine Chevalier Robin Masson Sanchez Gerard "
    "Nguyen Boyer Denis Lemaire Duval Joly Gautier Roger Roche Roy Noel Meyer Lucas Meunier "
    "Jean Perez Marchand Dufour Blanchard Marie Barbier Brun Dumas Brunet Schmitt Leroux "
    "Colin Fernandez Pierre Renard Arnaud Rolland Caron Aubert Giraud Leclerc Vidal Bourgeois "
    "Renaud Lemoine Picard Gaillard Philippe Leclercq Lacroix Fabre Dupuis Olivier Rodriguez "
    "Da Silva Hubert Louis Charles Guillot Riviere Le Gall Guillaume Adam Rey Moulin Gonzalez "
    "Berger Lecomte Menard Fleury Deschamps Carpentier Julien Benoit Paris Maillard Marchal "
    "Aubry Vasseur Le Roux Renault Jacquet Collet Prevost Poirier Charpentier Royer Huet "
    "Baron Dupuy Pons Paul Laine Carre Breton Remy Schneider Perrot Guyot Barre Marty Cousin "
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Schmidt Fischer Weber Wagner Becker "
    "Hoffmann Schulz Koch Richter Klein Wolf Neumann Schwarz Zimmermann Braun Hofmann Hartmann"
)
DOMAINS = ["gmail.com", "yahoo.fr", "orange.fr", "hotmail.com", "outlook.com", "free.fr"]


@dataclass
class Target:
    sqlalchemy_url: str

    @property
    def dsn(self) -> str:
        url = make_url(self.sqlalchemy_url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


async def resolve_target(database: str = BENCH_DATABASE) -> Target:
    """`DATABASE_URL` if set, else `database` on the local server (created if missing)."""
    if os.environ.get("DATABASE_URL"):
        url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+asyncpg")
        return Target(url.render_as_string(hide_password=False))
    if not _reachable("127.0.0.1", 5432):
        raise SystemExit(
            "No DATABASE_URL and no PostgreSQL at 127.0.0.1:5432: set DATABASE_URL to a "
            "database the benchmark may fill (about 1 GB)."
        )
    admin = Target(LOCAL_SERVER)
    conn = await asyncpg.connect(admin.dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    url = make_url(LOCAL_SERVER).set(database=database)
    return Target(url.render_as_string(hide_password=False))


async def read_meta(conn: asyncpg.Connection) -> dict[str, Any] | None:
    await conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb)")
    raw = await conn.fetchval("SELECT value FROM bench_meta WHERE key = 'messaging'")
    if raw is None:
        return None
    meta: dict[str, Any] = json.loads(raw)
    return meta if meta.get("version") == DATA_VERSION else None


async def _step(conn: asyncpg.Connection, label: str, sql: str, *args: Any) -> None:
    started = time.perf_counter()
    status = await conn.execute(sql, *args)
    print(f"  {label}: {status} ({time.perf_counter() - started:.1f} s)", flush=True)


async def generate(conn: asyncpg.Connection) -> dict[str, Any]:
    """Fill an empty, migrated database; returns the ids the benchmark needs."""
    if await conn.fetchval("SELECT count(*) FROM users"):
        raise SystemExit(
            "The benchmark database already has users but no complete benchmark data set; "
            "drop it (DROP DATABASE rebook_bench) or point DATABASE_URL at an empty one."
        )
    await conn.execute("SELECT setseed(0.42)")
    owners = await conn.fetch(
        """
        INSERT INTO users (email, first_name, last_name, role, gdpr_marketing_consent)
        SELECT 'owner-' || n || '@bench.rebook.test', 'Owner', upper(n), 'business_owner', false
        FROM unnest(ARRAY['a', 'b', 'c']) AS n RETURNING id
        """
    )
    owner_a, owner_b, owner_c = (r["id"] for r in owners)
    places_a = [
        r["id"]
        for r in await conn.fetch(
            "INSERT INTO places (owner_id, name, timezone, country_code) "
            "SELECT $1, 'Salon A' || g, 'Europe/Paris', 'FR' FROM generate_series(1, 20) g "
            "RETURNING id",
            owner_a,
        )
    ]
    places_other = [
        r["id"]
        for r in await conn.fetch(
            "INSERT INTO places (owner_id, name, timezone, country_code) "
            "SELECT CASE WHEN g <= 5 THEN $1::int ELSE $2::int END, 'Studio ' || g, "
            "'Europe/London', 'GB' "
            "FROM generate_series(1, 10) g RETURNING id",
            owner_b,
            owner_c,
        )
    ]

    # Customers, numbered g: 1..200k are A's (FR phones), then 40k of the other owners (GB
    # phones), then the users who booked nowhere here. Contact mix: 25 % email only, 60 % both,
    # 12 % phone only, 3 % neither; phones 60 % international, 35 % national, 5 % unreadable.
    total_users = A_CUSTOMERS + OTHER_ONLY_CUSTOMERS + NO_BOOKING_USERS
    await _step(
        conn,
        "users",
        """
        INSERT INTO users (email, first_name, last_name, phone, phone_e164, role,
                           gdpr_marketing_consent, gdpr_marketing_consent_at, gdpr_consent_source,
                           created_at)
        SELECT
          CASE WHEN contact < 0.85 THEN
            lower(replace(fn, ' ', '')) || '.' || lower(replace(ln, ' ', '')) || g || '@'
            || ($3::text[])[1 + g % cardinality($3::text[])] END,
          fn, ln,
          CASE WHEN contact >= 0.25 AND contact < 0.97 THEN
            CASE WHEN fmt < 0.60 THEN cc || ' ' || mobile
                 WHEN fmt < 0.95 THEN nat || mobile
                 ELSE '12-' || (g % 1000) END END,
          CASE WHEN contact >= 0.25 AND contact < 0.97 AND fmt < 0.95 THEN
            cc || replace(mobile, ' ', '') END,
          'customer', consent,
          CASE WHEN consent THEN now() - (random() * interval '700 days') END,
          CASE WHEN consent THEN 'booking_form' END,
          now() - (random() * interval '1000 days')
        FROM (
          SELECT g, random() AS contact, random() AS fmt, random() < 0.70 AS consent,
                 ($1::text[])[1 + floor(random() * cardinality($1::text[]))::int] AS fn,
                 ($2::text[])[1 + floor(random() * cardinality($2::text[]))::int] AS ln,
                 CASE WHEN g <= $4 THEN '+33' ELSE '+44' END AS cc,
                 CASE WHEN g <= $4 THEN '0' ELSE '0' END AS nat,
                 CASE WHEN g <= $4
                   THEN '6 ' || to_char(g % 100, 'FM00') || ' ' || to_char(g / 100 % 100, 'FM00')
                        || ' ' || to_char(g / 10000 % 100, 'FM00') || ' '
                        || to_char(floor(random() * 100)::int, 'FM00')
                   ELSE '7700 ' || to_char(g % 1000000, 'FM000000') END AS mobile
          FROM generate_series(1, $5::int) g
        ) s
        ORDER BY g
        """,
        FIRST_NAMES,
        LAST_NAMES,
        DOMAINS,
        A_CUSTOMERS,
        total_users,
    )
    first_customer = await conn.fetchval("SELECT min(id) FROM users WHERE role = 'customer'")
    base = first_customer - 1  # user id = base + g

    a_places = "($1::int[])"
    # Every A customer booked at least once at a "home" place; the rest of the bookings go to
    # customers drawn with a skew (regulars), 70 % at their home place.
    await _step(
        conn,
        "bookings of A",
        f"""
        INSERT INTO bookings (place_id, user_id, starts_at, status, created_at)
        SELECT {a_places}[1 + CASE WHEN g <= $3 OR random() < 0.7 THEN u % 20
                                   ELSE floor(random() * 20)::int END],
               $2::int + u, ts, CASE WHEN ts > now() THEN 'upcoming' ELSE 'completed' END, ts
        FROM (
          SELECT g,
                 CASE WHEN g <= $3 THEN g
                      ELSE 1 + floor($3 * power(random(), 1.6))::int END AS u,
                 now() - (random() * interval '730 days') + interval '30 days' AS ts
          FROM generate_series(1, $4) g
        ) s
        """,
        places_a,
        base,
        A_CUSTOMERS,
        A_BOOKINGS,
    )
    others = OTHER_ONLY_CUSTOMERS + SHARED_CUSTOMERS
    await _step(
        conn,
        "bookings of the other owners",
        """
        INSERT INTO bookings (place_id, user_id, starts_at, status, created_at)
        SELECT ($1::int[])[1 + floor(random() * 10)::int],
               $2::int + CASE WHEN u <= $3::int THEN $4::int + u ELSE u - $3::int END,
               ts, 'completed', ts
        FROM (
          SELECT CASE WHEN g <= $5 THEN g ELSE 1 + floor($5 * random())::int END AS u,
                 now() - (random() * interval '730 days') AS ts
          FROM generate_series(1, $6) g
        ) s
        """,
        places_other,
        base,
        OTHER_ONLY_CUSTOMERS,
        A_CUSTOMERS,
        others,
        OTHER_BOOKINGS,
    )
    await _step(
        conn,
        "suppressions",
        """
        INSERT INTO marketing_suppressions (owner_id, user_id, channel, source)
        SELECT $1::int, $2::int + g, ch, 'unsubscribe_link'
        FROM (SELECT g, random() AS e, random() AS w FROM generate_series(1, $3) g) s,
             LATERAL (SELECT 'email' AS ch WHERE s.e < 0.03
                      UNION ALL SELECT 'whatsapp' WHERE s.w < 0.02) c
        """,
        owner_a,
        base,
        A_CUSTOMERS,
    )

    # The stats campaign: 500 000 recipients x (email, whatsapp), inserted directly (the
    # counters are kept by the triggers), with a realistic spread of outcomes.
    stats_campaign = await conn.fetchval(
        """
        INSERT INTO campaigns (owner_id, name, campaign_type, status, config)
        VALUES ($1, 'Spring newsletter (1 M deliveries)', 'messaging', 'sent',
                '{"channels": ["email", "whatsapp"]}') RETURNING id
        """,
        owner_a,
    )
    await conn.execute(
        "INSERT INTO campaign_places (campaign_id, place_id) SELECT $1, unnest($2::int[])",
        stats_campaign,
        places_a,
    )
    await _step(
        conn,
        "stats campaign recipients",
        """
        INSERT INTO campaign_recipients (campaign_id, user_id, place_id, customer_first_name,
            customer_last_name, customer_email, customer_phone, customer_phone_e164)
        SELECT $1, id, $2, first_name, last_name, email, phone, phone_e164
        FROM users WHERE role = 'customer' ORDER BY id LIMIT $3
        """,
        stats_campaign,
        places_a[0],
        STATS_RECIPIENTS,
    )
    await _step(
        conn,
        "stats campaign deliveries",
        """
        INSERT INTO campaign_deliveries (campaign_id, recipient_id, channel, status, attempts,
            provider_status, error_code, error_message, sent_at, cost, possible_duplicate)
        SELECT $1, r.id, ch, st, CASE WHEN st IN ('sent', 'failed') THEN 1 ELSE 0 END,
               CASE WHEN st = 'sent' THEN 'delivered' END,
               CASE WHEN st = 'failed' THEN '30003' WHEN st = 'skipped' THEN 'no_email' END,
               CASE WHEN st = 'failed' THEN 'Unreachable destination handset'
                    WHEN st = 'skipped' THEN 'No email address on file.' END,
               CASE WHEN st = 'sent' THEN now() - interval '1 day' END,
               CASE WHEN st = 'sent' AND ch = 'whatsapp' THEN 0.005 END,
               random() < 0.0005
        FROM (
          SELECT r.id, r.ch,
                 CASE WHEN x < 0.70 THEN 'sent' WHEN x < 0.75 THEN 'failed'
                      WHEN x < 0.85 THEN 'skipped' WHEN x < 0.99 THEN 'pending'
                      ELSE 'cancelled' END AS st
          FROM (SELECT r.id, c.ch, random() AS x
                FROM campaign_recipients r CROSS JOIN (VALUES ('email'), ('whatsapp')) c(ch)
                WHERE r.campaign_id = $1) r(id, ch, x)
        ) r(id, ch, st)
        """,
        stats_campaign,
    )
    # The select-all campaign: its places are chosen by the benchmark (about 100 000 eligible).
    select_all_campaign = await conn.fetchval(
        """
        INSERT INTO campaigns (owner_id, name, campaign_type, status, config)
        VALUES ($1, 'Select everyone', 'messaging', 'draft',
                '{"channels": ["email", "whatsapp"]}') RETURNING id
        """,
        owner_a,
    )
    return {
        "version": DATA_VERSION,
        "owner_a": owner_a,
        "owner_b": owner_b,
        "owner_c": owner_c,
        "places_a": places_a,
        "places_other": places_other,
        "stats_campaign": stats_campaign,
        "select_all_campaign": select_all_campaign,
    }


async def ensure_data(force: bool = False) -> tuple[Target, dict[str, Any]]:
    """Migrate the benchmark database and generate the data unless it is already there."""
    target = await resolve_target()
    await asyncio.to_thread(upgrade_head, target.sqlalchemy_url)
    conn = await asyncpg.connect(target.dsn)
    try:
        meta = await read_meta(conn)
        if meta is not None and not force:
            return target, meta
        if force:
            await conn.execute(
                "TRUNCATE users, places, bookings, campaigns, campaign_places, "
                "campaign_recipients, campaign_deliveries, campaign_delivery_counts, "
                "marketing_suppressions, audit_events, outbox_messages, bench_meta CASCADE"
            )
        print(f"Generating the benchmark data in {make_url(target.sqlalchemy_url).database} …")
        started = time.perf_counter()
        async with conn.transaction():
            meta = await generate(conn)
            await conn.execute(
                "INSERT INTO bench_meta (key, value) VALUES ('messaging', $1) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
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
    print(f"Benchmark data ready in {make_url(target.sqlalchemy_url).database}: {meta}")


if __name__ == "__main__":
    main()
