"""PostgreSQL stops for 5 s in the middle of a campaign, then comes back: the workers —
`rebook worker`, and the one inside `rebook serve` — ride it out and finish the campaign,
every customer gets one email (a copy that may have gone twice is flagged), and meanwhile
the API answers 503 with Retry-After, never 500.

The database is a private server the test starts and stops itself (tests/private_pg.py)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.delivery.conftest import BASE, PrivateDatabase, start_campaign
from tests.delivery.faults import (
    Process,
    bulk_shop,
    fresh_connections,
    rebook_env,
    spawn_serve,
    spawn_worker,
    tally,
    wait_until_final,
)
from tests.fakes.smtp import SmtpSink

# Longer than DELIVERY_STALE_AFTER_SECONDS below: the workers' own leases lapse while the
# database is away, and must not pass for a dead worker's when it is back.
OUTAGE_SECONDS = 5.0


@dataclass
class Answer:
    path: str
    status: int
    retry_after: str | None
    body: str


async def watch_api(client: httpx.AsyncClient, paths: list[str], until: float) -> list[Answer]:
    """What the API answers while the database is away, every 0.2 s."""
    answers = []
    while time.monotonic() < until:
        for path in paths:
            try:
                response = await client.get(path)
            except httpx.TransportError as exc:
                answers.append(Answer(path, 0, None, repr(exc)))
                continue
            answers.append(
                Answer(
                    path, response.status_code, response.headers.get("retry-after"), response.text
                )
            )
        await asyncio.sleep(0.2)
    return answers


@pytest.mark.parametrize("where", ["rebook worker", "rebook serve"])
async def test_workers_ride_out_a_database_restart_and_finish_the_campaign(
    where: str, private_db: PrivateDatabase, private_engine: AsyncEngine
) -> None:
    customers = 240
    sink = SmtpSink().start()
    env = rebook_env(
        make_url(private_db.url).set(drivername="postgresql").render_as_string(False),
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(sink.port),
        SMTP_CONNECTIONS="2",
        EMAIL_RATE_PER_SECOND="40",
        DELIVERY_BATCH_SIZE="20",
        # Deliveries a dead worker left `sending` are taken back this soon (the lease keeps a
        # live worker's: it renews them every second).
        DELIVERY_STALE_AFTER_SECONDS="4",
    )
    processes: list[Process] = []
    try:
        serve = await spawn_serve(env, worker=where == "rebook serve")
        processes.append(serve)
        if where == "rebook worker":
            processes.append(spawn_worker(env))
        shop = await bulk_shop(private_engine, customers, tag="restart")
        api = fresh_connections(f"http://127.0.0.1:{serve.port}", {})
        async with api:
            campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
            for _ in range(600):
                if len(sink.received) >= 50:
                    break
                await asyncio.sleep(0.05)
            assert len(sink.received) >= 50, "\n".join(p.output() for p in processes)

            private_db.server.stop()
            stopped_at = time.monotonic()
            sent_at_stop = len(sink.received)
            stats_path = f"{BASE}/{campaign['id']}/messaging-stats"
            api.headers.update(shop.headers)
            during = await watch_api(api, ["/healthz", stats_path], stopped_at + OUTAGE_SECONDS)
            private_db.server.start()
            restarted_at = time.monotonic()

            status = await wait_until_final(private_engine, campaign["id"], 90, processes)
            finished_in = time.monotonic() - restarted_at
            after = await api.get(stats_path)
            alive = {p.name: p.alive for p in processes}
            report = await tally(
                private_engine,
                campaign["id"],
                "email",
                Counter(r for m in sink.received for r in m.rcpt_tos),
            )
    finally:
        codes = {p.name: p.stop() for p in processes}
        sink.stop()
    logs = "\n".join(f"--- {p.name}\n{p.output()}" for p in processes)
    print(  # noqa: T201
        f"{where}: {sent_at_stop} emails before the stop, finished {finished_in:.1f} s after "
        f"the restart; {report.line()}"
    )

    assert alive == {p.name: True for p in processes}, logs
    assert status == "sent", logs
    assert after.status_code == 200, after.text
    assert after.json()["sent"] == customers, after.text
    # Nobody lost, nobody received two unless flagged.
    assert report.deliveries == customers
    assert report.ok, (report.line(), logs)
    # While the database was away, the API said so: 503, with a time to come back.
    down = [a for a in during if a.status != 200]
    assert down, "the outage was never seen"
    assert all(a.status == 503 for a in down), [a for a in down if a.status != 503]
    assert all(a.retry_after and a.retry_after.isdigit() for a in down), down
    assert {a.path for a in down} == {"/healthz", stats_path}
    assert all("database" in a.body.lower() for a in down), down[:3]
    # Stopped by SIGTERM, they exit cleanly (uvicorn, once shut down, ends by the signal it
    # was sent, as the convention goes).
    assert codes == {p.name: 0 if p.name == "worker" else -15 for p in processes}, logs
