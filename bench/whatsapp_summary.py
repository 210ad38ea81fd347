"""The send summary's WhatsApp split (free text / template / skipped outside the 24-hour
window) on a large campaign, against the same summary of an email campaign of the same size
(counters only) in the same run: what the window count adds before an owner confirms.

    make bench-whatsapp-summary   (DATABASE_URL, else rebook_bench_whatsapp on 127.0.0.1:5432)
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import time
from datetime import UTC, datetime

from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

os.environ.setdefault(
    "DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/rebook_bench_whatsapp"
)
import delivery_data as data

SIZE = int(os.environ.get("BENCH_RECIPIENTS", "200000"))
ROUNDS = 30
# Share of the customers who wrote to the business in the last 24 hours.
WROTE = 0.1


async def timed(api: AsyncClient, owner: int, campaign: int) -> list[float]:
    headers = data.owner_headers(owner)
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = await api.get(f"{data.API}/{campaign}/send-summary", headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return times


def line(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"| {name} | {statistics.median(times):.1f} | {p95:.1f} |"


async def run(url: str) -> None:
    engine = data.bench_engine(url)
    from rebook import db
    from rebook.app import create_app

    db.set_engine(engine)
    await data.cleanup(engine)
    owner, place = await data.ensure_customers(engine, SIZE)
    transport = ASGITransport(app=create_app(frontend_dist=None), client=("127.0.0.1", 50000))
    async with AsyncClient(transport=transport, base_url="http://rebook.bench") as api:
        email = await data.create_campaign(api, engine, owner, place, SIZE, "email")
        whatsapp = await data.create_campaign(api, engine, owner, place, SIZE, "whatsapp")
        async with engine.begin() as conn:
            # create_campaign opened every window; keep one customer in ten inside.
            await conn.execute(
                text("DELETE FROM whatsapp_service_windows WHERE hashtext(phone_e164) % 10 <> 0")
            )
        async with engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE whatsapp_service_windows"))
        await timed(api, owner, email)  # warm both
        await timed(api, owner, whatsapp)
        baseline = await timed(api, owner, email)
        split = await timed(api, owner, whatsapp)
        summary = (
            await api.get(f"{data.API}/{whatsapp}/send-summary", headers=data.owner_headers(owner))
        ).json()
    await engine.dispose()
    print(
        f"Date: {datetime.now(UTC):%Y-%m-%d}; machine: {os.cpu_count()} CPUs, {platform.platform()}"
    )
    print(f"{SIZE:,} recipients, {ROUNDS} requests each, after a warm-up round")
    print("| send summary | p50 ms | p95 ms |\n| --- | --- | --- |")
    print(line("email campaign (counters only, baseline)", baseline))
    print(line("WhatsApp campaign (counters + window split)", split))
    print("WhatsApp split:", summary["channels"][0]["whatsapp"])


if __name__ == "__main__":
    # Migrating runs its own event loop: before ours.
    asyncio.run(run(data.prepare_database()))
