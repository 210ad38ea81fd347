"""Stop means stop: once the cancel has answered, no provider call of the campaign starts;
the calls already under way may finish, and the answer says how many there were."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from rebook.config import get_settings
from rebook.db import session_scope
from rebook.delivery.journal import MAX_LEAD_SECONDS
from rebook.delivery.runtime import close_senders, run_worker
from tests.delivery.conftest import BASE, make_shop, start_campaign, stats
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import FakeTwilio

pytestmark = pytest.mark.usefixtures("committed")

RATE = 20  # messages a second, per channel


async def jobs_left(campaign_id: int) -> int:
    async with session_scope() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                "AND (args->>'campaign_id')::int = :id"
            ),
            {"id": campaign_id},
        )
    return int(count or 0)


async def test_no_message_leaves_after_the_cancel_answer_beyond_those_under_way(
    api: AsyncClient,
    smtp_backend: SmtpSink,
    twilio_backend: FakeTwilio,
    delivery_env: pytest.MonkeyPatch,
) -> None:
    """200 customers by email and WhatsApp at 20/s each, cancelled through the API when a
    few dozen have gone: a worker has claimed and queued many more (four batches of 20 per
    channel), each with its send slot, some seconds ahead."""
    delivery_env.setenv("EMAIL_RATE_PER_SECOND", str(RATE))
    delivery_env.setenv("WHATSAPP_RATE_PER_SECOND", str(RATE))
    get_settings.cache_clear()
    shop = await make_shop(customers=200)
    campaign = await start_campaign(api, shop)
    worker = asyncio.create_task(run_worker(install_signal_handlers=False))
    try:
        for _ in range(200):
            if len(smtp_backend.received) >= 20 and len(twilio_backend.posts()) >= 20:
                break
            await asyncio.sleep(0.05)
        response = await api.post(f"{BASE}/{campaign['id']}/cancel", headers=shop.headers)
        answered = time.time()
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "cancelled"
        # Every job of the campaign done: a batch ends only once each call it queued has
        # left or been dropped, so any call that was still to leave has left by now.
        for _ in range(400):
            if await jobs_left(campaign["id"]) == 0:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the campaign's batches never finished")
    finally:
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker
        await close_senders()

    emails = [m.rcpt_tos[0] for m in smtp_backend.received]
    whatsapps = [p["form"]["To"] for p in twilio_backend.posts()]
    late = [m for m in smtp_backend.received if m.arrived_at > answered] + [
        p for p in twilio_backend.posts() if p["at"] > answered
    ]
    under_way = body.get("messages_under_way", 0)
    assert len(late) <= under_way, (len(late), under_way)
    # Calls on the wire or due within the journal's lead, per channel; not the queue's worth
    # that a worker holds (four batches of 20).
    assert under_way <= 2 * (RATE * MAX_LEAD_SECONDS + 3)
    # What the owner sees is what arrived: one message per customer and channel at most.
    assert max(Counter(emails).values()) == 1
    assert max(Counter(whatsapps).values()) == 1
    final = await stats(api, shop, campaign["id"])
    channels = {c["channel"]: c for c in final["channels"]}
    assert (channels["email"]["sent"], channels["whatsapp"]["sent"]) == (
        len(emails),
        len(whatsapps),
    )
    for channel in channels.values():
        assert channel["sent"] + channel["cancelled"] == 200
        assert channel["pending"] == 0
    assert final["status"] == "cancelled"
