"""The worker's journal (`rebook.delivery.journal`): calls starting and outcomes, as the owner then
sees them through the API."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from rebook.config import get_settings
from rebook.delivery.journal import Journal, Outcome
from rebook.delivery.ratelimit import SharedRateLimiter
from rebook.messaging import dispatch, flow
from tests.delivery.conftest import BASE, Shop, deliveries, make_shop, start_campaign, stats

pytestmark = pytest.mark.usefixtures("committed")


@pytest.fixture
async def journal(engine: AsyncEngine) -> AsyncIterator[Journal]:
    """A worker's journal, closed after the test."""
    opened = Journal(engine)
    yield opened
    await opened.aclose()


async def claimed(
    api: AsyncClient, engine: AsyncEngine, customers: int
) -> tuple[Shop, int, list[int]]:
    """A sending campaign whose email deliveries a worker has just claimed; their ids."""
    shop = await make_shop(customers=customers)
    campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
    await flow.start_campaign(campaign["id"], get_settings())
    items = await dispatch.claim(engine, campaign["id"], "email", customers)
    assert len(items) == customers
    return shop, campaign["id"], [item.id for item in items]


async def test_calls_of_a_campaign_cancelled_after_the_claim_do_not_go(
    api: AsyncClient, engine: AsyncEngine, journal: Journal
) -> None:
    shop, campaign_id, ids = await claimed(api, engine, customers=3)
    cancelled = await api.post(f"{BASE}/{campaign_id}/cancel", headers=shop.headers)
    assert cancelled.json()["status"] == "cancelled"
    limiter = SharedRateLimiter("email", 1000)
    slots = await asyncio.gather(*(journal.reserve(i, limiter) for i in ids))

    assert slots == [None, None, None]
    rows = await deliveries(api, shop, campaign_id)
    assert {(d["status"], d["error_message"]) for d in rows} == {
        ("cancelled", "Not sent: the campaign was cancelled.")
    }
    body = await stats(api, shop, campaign_id)
    assert (body["cancelled"], body["sent"]) == (3, 0)


async def test_calls_starting_together_get_consecutive_send_slots(
    api: AsyncClient, engine: AsyncEngine, journal: Journal
) -> None:
    *_, ids = await claimed(api, engine, customers=6)
    limiter = SharedRateLimiter("email", 1)  # a slot every ~1 s
    before = datetime.now(UTC)
    slots = await asyncio.gather(*(journal.reserve(i, limiter) for i in ids))

    assert all(slot is not None for slot in slots)
    ordered = sorted(s.at for s in slots if s is not None)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    assert all(gap == pytest.approx(limiter.interval, abs=0.002) for gap in gaps), gaps
    assert ordered[0] >= before
    # At one message a second, the sixth goes five seconds after the first.
    assert (ordered[-1] - ordered[0]).total_seconds() == pytest.approx(5 * limiter.interval)
    # Only the first is due at once (within the journal's lead, at most 0.5 s): it alone has
    # its start committed with its slot.
    assert [s.started for s in slots if s is not None] == [True] + [False] * 5


async def test_a_start_is_refused_once_the_cancel_has_committed(
    api: AsyncClient, engine: AsyncEngine, journal: Journal
) -> None:
    """A send whose slot lies ahead has no start committed: the cancel counts it as not
    under way, and its start, asked for when its slot comes, is refused."""
    shop, campaign_id, ids = await claimed(api, engine, customers=3)
    limiter = SharedRateLimiter("email", 1)
    slots = await asyncio.gather(*(journal.reserve(i, limiter) for i in ids))
    assert [s.started for s in slots if s is not None] == [True, False, False]

    cancelled = await api.post(f"{BASE}/{campaign_id}/cancel", headers=shop.headers)
    assert (cancelled.json()["status"], cancelled.json()["messages_under_way"]) == (
        "cancelled",
        1,
    )
    assert await asyncio.gather(*(journal.call_starts(i) for i in ids[1:])) == [False, False]
    rows = await deliveries(api, shop, campaign_id)
    assert sorted(d["status"] for d in rows) == ["cancelled", "cancelled", "sending"]
    assert {d["attempts"] for d in rows if d["status"] == "cancelled"} == {0}


async def test_an_outcome_only_lands_on_a_delivery_still_sending(
    api: AsyncClient, engine: AsyncEngine, journal: Journal
) -> None:
    shop, campaign_id, (first, second) = await claimed(api, engine, customers=2)
    await journal.record(Outcome(first, status="sent", sent_at=datetime.now(UTC)))
    # A late second answer for the same delivery (say, after recovery) changes nothing.
    await journal.record(Outcome(first, status="failed", error_code="smtp-550"))
    await journal.record(Outcome(second, status="skipped", error_code="no_consent"))

    rows = await deliveries(api, shop, campaign_id)
    assert sorted((d["status"], d["error_code"]) for d in rows) == [
        ("sent", None),
        ("skipped", "no_consent"),
    ]
    body = await stats(api, shop, campaign_id)
    assert (body["sent"], body["skipped"], body["failed"]) == (1, 1, 0)


async def test_a_lost_database_connection_is_reopened_and_the_write_lands(
    api: AsyncClient, engine: AsyncEngine, journal: Journal
) -> None:
    shop, campaign_id, (first, second) = await claimed(api, engine, customers=2)
    await journal.record(Outcome(first, status="sent", sent_at=datetime.now(UTC)))
    # The database drops the journal's connection (a restart, a network cut).
    async with engine.connect() as admin:
        killed = await admin.scalar(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE '/* delivery journal */%' "
                "AND pid <> pg_backend_pid()"
            )
        )
    assert killed is True
    await journal.record(Outcome(second, status="sent", sent_at=datetime.now(UTC)))

    rows = await deliveries(api, shop, campaign_id)
    assert [d["status"] for d in rows] == ["sent", "sent"]
