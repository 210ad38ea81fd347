"""Workers side by side: any number of `rebook worker` processes share one campaign, and each
delivery is claimed by exactly one of them."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from rebook.db import session_scope
from tests.delivery.conftest import make_shop, start_campaign, stats
from tests.delivery.test_crash import spawn_worker
from tests.fakes.smtp import SmtpSink

pytestmark = pytest.mark.usefixtures("committed")


async def workers_listening(count: int) -> None:
    for _ in range(1200):  # a worker process takes seconds to start on a loaded machine
        async with session_scope() as session:
            n = await session.scalar(text("SELECT count(*) FROM procrastinate_workers"))
        if (n or 0) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} workers never started")


def sent_deliveries(log: bytes) -> list[int]:
    """The delivery ids a worker logged as sent (one JSON line per delivery)."""
    lines = (json.loads(line) for line in log.splitlines() if line.startswith(b"{"))
    return [line["delivery_id"] for line in lines if line.get("event") == "delivery sent"]


async def test_two_workers_share_a_campaign_and_never_send_a_delivery_twice(
    api: AsyncClient, smtp_sink: SmtpSink
) -> None:
    shop = await make_shop(customers=120, phone=False)
    # Two batch jobs each, so the campaign's four are split between the workers; chunks of
    # 20, so their claims interleave; 40 emails a second between them (the shared limit), so
    # the campaign lasts long enough for both to join in on a slow machine.
    workers = [spawn_worker(smtp_sink.port, WORKER_CONCURRENCY="2") for _ in range(2)]
    logs: list[bytes] = []
    try:
        await workers_listening(2)
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
        for _ in range(1200):
            body = await stats(api, shop, campaign["id"])
            if body["status"] in ("sent", "partially_failed"):
                break
            await asyncio.sleep(0.05)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            logs.append(worker.communicate(timeout=30)[1])

    assert (body["status"], body["sent"], body["possible_duplicates"]) == ("sent", 120, 0)
    received = Counter(r for m in smtp_sink.received for r in m.rcpt_tos)
    twice = sorted(address for address, n in received.items() if n > 1)
    assert not twice, f"received twice: {twice}"
    assert set(received) == {c.email for c in shop.customers}  # nobody left out
    first, second = (set(sent_deliveries(log)) for log in logs)
    assert first, "the first worker sent nothing"
    assert second, "the second worker sent nothing"
    assert not first & second
    assert len(first) + len(second) == 120
