"""The long fault runs (`make soak`; excluded from `make test`): a 2,000-recipient campaign on
email and WhatsApp while the worker is killed with SIGKILL five times, and while PostgreSQL is
restarted twice under three workers. Each reports, per recipient and channel, how many
copies reached the SMTP sink / the fake Twilio beside the recorded delivery states, and
asserts 0 lost and 0 unflagged duplicates."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import pytest
from httpx import AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.delivery.conftest import PrivateDatabase, start_campaign
from tests.delivery.faults import (
    Process,
    Tally,
    bulk_shop,
    fresh_connections,
    rebook_env,
    spawn_serve,
    spawn_worker,
    tally,
    wait_until_final,
)
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER, FakeTwilio

pytestmark = pytest.mark.soak

CUSTOMERS = 2000
KILLS = 5
OUTAGES = 2
OUTAGE_SECONDS = 8.0


def channel_env(sink: SmtpSink, twilio: FakeTwilio, **settings: str) -> dict[str, str]:
    return {
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "SMTP_CONNECTIONS": "4",
        "EMAIL_RATE_PER_SECOND": "100",
        "WHATSAPP_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_NUMBER": WHATSAPP_NUMBER,
        "TWILIO_API_BASE_URL": twilio.base_url,
        "WHATSAPP_RATE_PER_SECOND": "100",
        "DELIVERY_BATCH_SIZE": "50",
        **settings,
    }


def received(sink: SmtpSink, twilio: FakeTwilio) -> int:
    return len(sink.received) + len(twilio.messages)


async def tallies(
    engine: AsyncEngine, campaign_id: int, sink: SmtpSink, twilio: FakeTwilio
) -> list[Tally]:
    emails = Counter(r for m in sink.received for r in m.rcpt_tos)
    whatsapps = Counter(m.to.removeprefix("whatsapp:") for m in twilio.messages)
    return [
        await tally(engine, campaign_id, "email", emails),
        await tally(engine, campaign_id, "whatsapp", whatsapps),
    ]


def report(title: str, lines: list[str]) -> None:
    print(f"\nSOAK {title}\n  " + "\n  ".join(lines))  # noqa: T201


async def wait_for_progress(
    sink: SmtpSink, twilio: FakeTwilio, count: int, processes: list[Process]
) -> None:
    for _ in range(1200):
        if received(sink, twilio) >= count:
            return
        assert all(p.alive for p in processes), "\n".join(p.output() for p in processes)
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} messages sent\n" + processes[-1].output())


async def test_kill_9_five_times_during_a_2000_recipient_campaign(
    api: AsyncClient, engine: AsyncEngine, smtp_sink: SmtpSink, fake_twilio: FakeTwilio
) -> None:
    shop = await bulk_shop(engine, CUSTOMERS, tag="kill")
    env = rebook_env(
        make_url(engine.url).set(drivername="postgresql").render_as_string(False),
        # A dead worker's deliveries and jobs are taken back this soon.
        **channel_env(smtp_sink, fake_twilio, DELIVERY_STALE_AFTER_SECONDS="3"),
    )
    total = 2 * CUSTOMERS
    started = time.monotonic()
    campaign = await start_campaign(api, shop)
    lines = []
    for kill in range(1, KILLS + 1):
        worker = spawn_worker(env, name=f"worker-{kill}")
        # Kill at an even spread through the campaign, while messages are in flight.
        await wait_for_progress(smtp_sink, fake_twilio, total * kill // (KILLS + 2), [worker])
        worker.popen.send_signal(signal.SIGKILL)
        worker.popen.wait()
        lines.append(f"kill -9 #{kill} after {received(smtp_sink, fake_twilio)} messages")
        # Its claims and its heartbeat go stale (3 s, 5 s); the next worker mends them.
        await asyncio.sleep(5.5)
    last = spawn_worker(env, name="worker-last")
    try:
        status = await wait_until_final(engine, campaign["id"], 300, [last])
    finally:
        code = last.stop()
    elapsed = time.monotonic() - started
    results = await tallies(engine, campaign["id"], smtp_sink, fake_twilio)
    report(
        f"kill -9 x{KILLS}: {CUSTOMERS} recipients x email + WhatsApp, campaign {status} in "
        f"{elapsed:.0f} s",
        lines + [r.line() for r in results],
    )

    assert status == "sent", last.output()
    assert code == 0
    for result in results:
        assert result.deliveries == CUSTOMERS
        assert result.states == {"sent": CUSTOMERS}, result.line()
        assert result.ok, result.line()


async def test_postgresql_restarted_twice_under_three_workers(
    private_db: PrivateDatabase,
    private_engine: AsyncEngine,
    smtp_sink: SmtpSink,
    fake_twilio: FakeTwilio,
) -> None:
    shop = await bulk_shop(private_engine, CUSTOMERS, tag="restart")
    env = rebook_env(
        make_url(private_db.url).set(drivername="postgresql").render_as_string(False),
        **channel_env(smtp_sink, fake_twilio, DELIVERY_STALE_AFTER_SECONDS="10"),
    )
    total = 2 * CUSTOMERS
    processes: list[Process] = []
    lines = []
    answers: Counter[int] = Counter()
    try:
        serve = await spawn_serve(env, worker=True)
        processes += [serve, spawn_worker(env, "worker-1"), spawn_worker(env, "worker-2")]
        started = time.monotonic()
        async with fresh_connections(f"http://127.0.0.1:{serve.port}", {}) as client:
            campaign = await start_campaign(client, shop)
            stats = f"/api/v1/owner/campaigns/{campaign['id']}/messaging-stats"
            for outage in range(1, OUTAGES + 1):
                await wait_for_progress(
                    smtp_sink, fake_twilio, total * outage // (OUTAGES + 2), processes
                )
                private_db.server.stop()
                lines.append(
                    f"PostgreSQL stopped #{outage} after {received(smtp_sink, fake_twilio)} "
                    f"messages, for {OUTAGE_SECONDS:.0f} s"
                )
                until = time.monotonic() + OUTAGE_SECONDS
                while time.monotonic() < until:
                    answers[(await client.get(stats, headers=shop.headers)).status_code] += 1
                    await asyncio.sleep(0.25)
                private_db.server.start()
            status = await wait_until_final(private_engine, campaign["id"], 300, processes)
            elapsed = time.monotonic() - started
        alive = [p.name for p in processes if p.alive]
    finally:
        codes = {p.name: p.stop() for p in processes}
    results = await tallies(private_engine, campaign["id"], smtp_sink, fake_twilio)
    report(
        f"PostgreSQL restarted x{OUTAGES} ({OUTAGE_SECONDS:.0f} s each) under rebook serve + 2 "
        f"rebook worker: {CUSTOMERS} recipients x email + WhatsApp, campaign {status} in "
        f"{elapsed:.0f} s; processes alive after: {len(alive)}/{len(processes)}; API answers "
        f"during the outages: {dict(answers)}",
        lines + [r.line() for r in results],
    )

    logs = "\n".join(f"--- {p.name}\n{p.output()}" for p in processes)
    assert len(alive) == len(processes), logs
    assert status == "sent", logs
    assert set(answers) == {503}, answers
    assert codes == {"serve": -signal.SIGTERM, "worker-1": 0, "worker-2": 0}
    for result in results:
        assert result.deliveries == CUSTOMERS
        assert result.states == {"sent": CUSTOMERS}, result.line()
        assert result.ok, result.line()
