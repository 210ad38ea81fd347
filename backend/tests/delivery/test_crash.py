"""kill -9 a worker in the middle of a campaign, start another: every delivery reaches a
final state, nobody is lost, and any message that may have gone twice is counted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from typing import IO

import pytest
from httpx import AsyncClient

from rebook.delivery.calls import IN_DOUBT_PER_CONNECTION
from tests.delivery.conftest import (
    dead_workers_go_stale,
    deliveries,
    make_shop,
    start_campaign,
    stats,
)
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER, FakeTwilio, Rule

pytestmark = pytest.mark.usefixtures("committed")

WORKER = [sys.executable, "-c", "from rebook.cli import main; main()", "worker"]


def spawn_worker(
    smtp_port: int, stderr: IO[bytes] | int = subprocess.PIPE, **settings: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["REBOOK_TEST_DATABASE_URL"],
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_CONNECTIONS": "4",
        "EMAIL_RATE_PER_SECOND": "40",
        "DELIVERY_BATCH_SIZE": "20",
        "DELIVERY_STALE_AFTER_SECONDS": "3",
        "PUBLIC_BASE_URL": "https://rebook.example",
        **settings,
    }
    return subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


async def test_a_killed_worker_loses_nothing_and_hides_no_duplicate(
    api: AsyncClient, smtp_sink: SmtpSink
) -> None:
    shop = await make_shop(customers=60, phone=False)
    smtp_sink.handler.answer_delay = 0.4  # so the kill finds messages in flight
    # A live worker's email stays `sending` while the sends committed ahead of it on its
    # connection are answered, 0.4 s each here: stale (a dead worker's) only after that.
    stale = str(0.4 * IN_DOUBT_PER_CONNECTION + 1)
    campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)

    first = spawn_worker(smtp_sink.port, DELIVERY_STALE_AFTER_SECONDS=stale)
    try:
        for _ in range(3000):  # a worker process takes seconds to start on a loaded machine
            # Kill while the server holds messages it has not acknowledged yet.
            if len(smtp_sink.received) >= 12 and smtp_sink.handler.unanswered:
                break
            await asyncio.sleep(0.02)
        assert len(smtp_sink.received) >= 12, "the first worker never got going"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    sent_before_crash = len(smtp_sink.received)
    mid = await stats(api, shop, campaign["id"])
    assert mid["status"] == "sending"
    assert mid["pending"] > 0

    # The dead worker's heartbeat and claims, older than both thresholds (procrastinate's 5 s).
    await dead_workers_go_stale(max(float(stale), 5.0) + 1)
    second = spawn_worker(smtp_sink.port, DELIVERY_STALE_AFTER_SECONDS=stale)
    try:
        for _ in range(1200):  # a loaded CI machine may be slow; a pass takes ~5 s
            body = await stats(api, shop, campaign["id"])
            if body["status"] in ("sent", "partially_failed"):
                break
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        _, errors = second.communicate(timeout=30)

    rows = await deliveries(api, shop, campaign["id"])
    problems = [d for d in rows if d["status"] != "sent" or d["possible_duplicate"]]
    diagnosis = f"{body}\n{problems}\n{errors.decode()[-2000:]}"
    assert body["status"] == "sent", diagnosis
    assert (body["sent"], body["pending"], body["failed"]) == (60, 0, 0), diagnosis
    assert all(d["status"] == "sent" for d in rows)

    received = Counter(r for m in smtp_sink.received for r in m.rcpt_tos)
    assert set(received) == {c.email for c in shop.customers}  # nobody lost
    twice = [address for address, n in received.items() if n > 1]
    flagged = [d for d in rows if d["possible_duplicate"]]
    # Every email that went twice is flagged and counted; only sends committed as starting
    # at the kill can be: at most IN_DOUBT_PER_CONNECTION per SMTP connection.
    assert 1 <= len(flagged) == body["possible_duplicates"], diagnosis
    assert len(twice) <= len(flagged) <= IN_DOUBT_PER_CONNECTION * 4, (twice, diagnosis)
    print(  # noqa: T201
        f"sent before the kill: {sent_before_crash}; possible duplicates flagged: "
        f"{len(flagged)}; actually received twice: {len(twice)}"
    )


async def test_a_whatsapp_message_in_flight_at_the_kill_is_found_at_twilio_not_resent(
    api: AsyncClient, fake_twilio: FakeTwilio
) -> None:
    shop = await make_shop(customers=6)
    numbers = [f"+336123400{i:02d}" for i in range(6)]
    for number in numbers:
        # Twilio takes the message, but answers too late for the worker that sent it.
        fake_twilio.answer(number, Rule(status=201, delay=1.0))
    campaign = await start_campaign(api, shop, channels=["whatsapp"], email_subject=None)

    env = {
        "WHATSAPP_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_NUMBER": WHATSAPP_NUMBER,
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
    }
    first = spawn_worker(0, **env)
    try:
        for _ in range(1200):  # a worker process takes seconds to start on a loaded machine
            if fake_twilio.posts():
                break
            await asyncio.sleep(0.05)
        assert fake_twilio.posts(), "the first worker never sent"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    fake_twilio.rules.clear()
    # Twilio keeps each message it was sent, a second late: what the second worker finds.
    for _ in range(100):
        if len(fake_twilio.messages) == len(fake_twilio.posts()):
            break
        await asyncio.sleep(0.05)
    assert len(fake_twilio.messages) == len(fake_twilio.posts())
    await dead_workers_go_stale(6.0)  # past procrastinate's 5 s and DELIVERY_STALE_AFTER's 3 s
    second = spawn_worker(0, **env)
    try:
        for _ in range(300):
            body = await stats(api, shop, campaign["id"])
            if body["status"] == "sent":
                break
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        _, errors = second.communicate(timeout=30)

    assert body["status"] == "sent", errors.decode()[-2000:]
    per_number = Counter(m.to for m in fake_twilio.messages)
    assert per_number == {f"whatsapp:{n}": 1 for n in numbers}  # none twice, none lost
    assert body["possible_duplicates"] == 0
    sids = {d["provider_message_id"] for d in await deliveries(api, shop, campaign["id"])}
    assert sids == {m.sid for m in fake_twilio.messages}
