"""The send path's two statements, beside the code of a git revision before them (issue 17).

    make bench-send-path        (BENCH_SEND_PATH_ARGS="--before 6a7f7ea --rounds 20")

In one database and one run, alternating chunk by chunk: the worker's claim of 100 email
deliveries (`rebook.messaging.dispatch.CLAIM`, eligibility rendered from
`rebook.messaging.audience`) beside the claim as written at `--before`, and the journal's write
(`rebook.delivery.journal.write_statement`) beside the `delivery_journal()` function it
replaced (created for the run from the downgrade of migration ow0a1b2c3d4e, in a schema of its
own). Each write
carries a group of reservations, then the same deliveries' outcomes, as a worker's group
commit does. Prints median milliseconds per statement, client-side, on 127.0.0.1.

Database: `rebook_bench_delivery` on 127.0.0.1:5432, or `DATABASE_URL` (shared with
bench/delivery_bench.py; customers generated once by bench/delivery_data.py)."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import platform
import re
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import delivery_data as data
from delivery_bench import app_client
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
MIGRATION = REPO / "backend/migrations/versions/2026-12-03-1000_journal_write_in_python.py"
CHUNK = 100  # deliveries per claim, DELIVERY_BATCH_SIZE's default
GROUP = 10  # entries per journal write: what ~4 SMTP connections' sends bring together
CLAIMS_PER_ROUND = 10
# The old function's call, in a schema of its own so the branch's schema is untouched.
OLD_WRITE = (
    "SELECT started_id, slot_at, started_now FROM bench_before.delivery_journal("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)


def claim_at(revision: str) -> str:
    """The claim statement as `revision` wrote it."""
    for path in (
        "backend/src/rebook/messaging/dispatch.py",
        "backend/src/rebook/delivery/engine.py",
    ):
        shown = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{revision}:{path}"], capture_output=True, text=True
        )
        found = re.search(r'\nCLAIM = f?"""(.*?)"""', shown.stdout, re.S)
        if shown.returncode == 0 and found and "{" not in found.group(1):
            return found.group(1)
    raise SystemExit(f"no plain CLAIM statement at {revision}")


def old_function_sql() -> str:
    spec = importlib.util.spec_from_file_location("journal_migration", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    executed: list[str] = []

    class Op:
        @staticmethod
        def execute(sql: str) -> None:
            executed.append(sql)

    import alembic

    real, alembic.op = alembic.op, Op  # type: ignore[assignment]
    try:
        spec.loader.exec_module(module)
        module.op = Op
        module.downgrade()
    finally:
        alembic.op = real
    (create,) = executed
    return create.replace(
        "CREATE FUNCTION delivery_journal(", "CREATE FUNCTION bench_before.delivery_journal("
    )


def write_args(ids: list[int], key: str, outcomes: bool) -> list[Any]:
    now = datetime.now(UTC)
    o_ids = ids if outcomes else []
    r_ids = [] if outcomes else ids
    return [
        o_ids,
        ["sent"] * len(o_ids),
        [f"bench-{i}" for i in o_ids],
        [None] * len(o_ids),
        [None] * len(o_ids),
        [None] * len(o_ids),
        [now] * len(o_ids),
        [None] * len(o_ids),
        [None] * len(o_ids),
        r_ids,
        [key] * len(r_ids),
        [1e-6] * len(r_ids),  # unthrottled: every start commits with its reservation
        [],
        0.05,
        "Not sent: the campaign was cancelled.",
    ]


def written(variant: str, ids: list[int], key: str, outcomes: bool) -> list[Any]:
    """The statement and arguments of one journal write, before or after."""
    args = write_args(ids, key, outcomes)
    if variant == "before":
        return [OLD_WRITE, *args]
    from rebook.delivery.journal import write_statement

    names = [
        *(
            [
                "o_id",
                "o_status",
                "o_provider_id",
                "o_provider_status",
                "o_error_code",
                "o_error_message",
            ]
        ),
        *(
            [
                "o_sent_at",
                "o_cost",
                "o_next_attempt_at",
                "r_id",
                "r_key",
                "r_spacing",
                "g_id",
                "lead",
            ]
        ),
        "cancelled_message",
    ]
    values = dict(zip(names, args, strict=True))
    values["asked"] = values["r_id"] + values["g_id"]
    sql, order = write_statement(bool(values["o_id"]), bool(values["r_id"]), bool(values["g_id"]))
    return [sql, *(values[name] for name in order)]


async def one_round(
    conn: Any, campaign_id: int, variants: dict[str, tuple[str, str]], n: int
) -> dict[str, dict[str, list[float]]]:
    """A campaign's deliveries claimed, reserved and recorded a chunk at a time, the chunks
    going to each variant in turn (so both meet the same moments of a noisy machine)."""
    await conn.execute(
        "UPDATE campaign_deliveries SET status = 'pending', attempts = 0, provider_call_at = NULL,"
        " sent_at = NULL, provider_message_id = NULL WHERE campaign_id = $1",
        campaign_id,
    )
    names = list(variants)
    times = {v: {"claim": [], "reserve": [], "outcome": []} for v in names}
    after = 0
    for chunk in range(CLAIMS_PER_ROUND):
        name = names[(chunk + n) % len(names)]
        claim, write = variants[name]
        began = time.perf_counter()
        rows = await conn.fetch(claim, campaign_id, CHUNK, after, "email")
        times[name]["claim"].append(time.perf_counter() - began)
        assert len(rows) == CHUNK
        assert all(r["consents"] and r["is_customer"] for r in rows)
        after = rows[-1]["id"]
        ids = [r["id"] for r in rows]
        for start in range(0, CHUNK, GROUP):
            group = ids[start : start + GROUP]
            began = time.perf_counter()
            answered = await conn.fetch(*written(write, group, f"bench:{name}", outcomes=False))
            times[name]["reserve"].append(time.perf_counter() - began)
            assert sorted(r["started_id"] for r in answered) == group
            assert all(r["started_now"] for r in answered)
            began = time.perf_counter()
            await conn.fetch(*written(write, group, f"bench:{name}", outcomes=True))
            times[name]["outcome"].append(time.perf_counter() - began)
    sent = await conn.fetchval(
        "SELECT count(*) FROM campaign_deliveries WHERE campaign_id = $1 AND status = 'sent'",
        campaign_id,
    )
    assert sent == CHUNK * CLAIMS_PER_ROUND, sent
    return times


async def run(args: Any, url: str) -> None:
    from rebook.messaging.dispatch import CLAIM

    engine = data.bench_engine(url)
    try:
        await data.cleanup(engine)
        owner, place = await data.ensure_customers(engine, CHUNK * CLAIMS_PER_ROUND)
        async with app_client() as api:
            campaign_id = await data.create_campaign(
                api, engine, owner, place, CHUNK * CLAIMS_PER_ROUND, "email"
            )
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE campaigns SET status = 'sending' WHERE id = :id"), {"id": campaign_id}
            )
            await conn.execute(text("DROP SCHEMA IF EXISTS bench_before CASCADE"))
            await conn.execute(text("CREATE SCHEMA bench_before"))
            await conn.execute(text(old_function_sql()))
        variants = {
            "after": (CLAIM, "after"),
            "before": (claim_at(args.before), "before"),
        }
        results: dict[str, dict[str, list[float]]] = {
            v: {"claim": [], "reserve": [], "outcome": []} for v in variants
        }
        async with engine.connect() as sa_conn:
            raw = await sa_conn.get_raw_connection()
            conn = raw.driver_connection
            if args.plan_cache_mode:
                await conn.execute(f"SET plan_cache_mode = {args.plan_cache_mode}")
            for n in range(args.rounds):
                for name, times in (await one_round(conn, campaign_id, variants, n)).items():
                    for part, values in times.items():
                        results[name][part].extend(values)
            await sa_conn.execute(text("DROP SCHEMA bench_before CASCADE"))
            await sa_conn.commit()
        await data.cleanup(engine)
    finally:
        await engine.dispose()
    print(report(results, args))


def report(results: dict[str, dict[str, list[float]]], args: Any) -> str:
    labels = {
        "claim": f"claim of {CHUNK} deliveries",
        "reserve": f"journal write: {GROUP} reservations (starts committed)",
        "outcome": f"journal write: {GROUP} outcomes",
    }
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.platform()}, Python "
        f"{platform.python_version()}; load average {', '.join(f'{x:.1f}' for x in _load())}; "
        f"{args.rounds} rounds, chunks alternating; before = {args.before}.",
        "",
        "| Statement | before (ms, median) | after (ms, median) | after / before |",
        "|---|---:|---:|---:|",
    ]
    for part, label in labels.items():
        before = statistics.median(results["before"][part]) * 1000
        after = statistics.median(results["after"][part]) * 1000
        lines.append(f"| {label} | {before:.2f} | {after:.2f} | {after / before:.0%} |")
    return "\n".join(lines)


def _load() -> tuple[float, float, float]:
    import os

    return os.getloadavg()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--before",
        default="6a7f7ea",
        help="git revision of the claim before (main before the layering)",
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--plan-cache-mode", help="PostgreSQL's plan_cache_mode for the run")
    args = parser.parse_args()
    url = data.prepare_database()
    asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
