"""A campaign the worker really sent is the record of who was messaged: neither the API nor a
raw statement can delete it."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from rebook.db import get_engine
from tests.delivery.conftest import BASE, Shop, drain, make_shop, start_campaign, stats

pytestmark = pytest.mark.usefixtures("committed")


async def record(api: AsyncClient, shop: Shop, campaign_id: int) -> dict[str, Any]:
    """Everything the owner can read about the campaign."""
    url = f"{BASE}/{campaign_id}"
    recipients = await api.get(f"{url}/recipients", params={"limit": 200}, headers=shop.headers)
    trail = await api.get(f"{url}/audit-events", headers=shop.headers)
    outbox = await api.get("/api/v1/owner/outbox", params={"limit": 200}, headers=shop.headers)
    return {
        "campaign": (await api.get(url, headers=shop.headers)).json(),
        "stats": await stats(api, shop, campaign_id),
        "recipients": recipients.json(),
        "trail": trail.json(),
        "outbox": len(outbox.json()["items"]),
    }


async def test_a_sent_campaign_answers_409_to_delete_and_keeps_everything(
    api: AsyncClient,
) -> None:
    shop = await make_shop(customers=3)
    campaign = await start_campaign(api, shop)
    await drain()
    before = await record(api, shop, campaign["id"])
    assert before["stats"]["status"] == "sent"
    assert before["outbox"] == 6

    response = await api.delete(f"{BASE}/{campaign['id']}", headers=shop.headers)

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "This campaign has sent messages, so it is kept as the record of who was messaged, when "
        "and why: it cannot be deleted. Archive it to hide it from your campaigns."
    )
    assert await record(api, shop, campaign["id"]) == before
    actions = [(e["action"], e["actor"]) for e in before["trail"]["items"]]
    assert actions == [
        ("campaign.finished", "worker"),
        ("campaign.sent", "owner"),
        ("campaign.recipients_added", "owner"),
        ("campaign.created", "owner"),
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM campaigns WHERE id = :id",
        "DELETE FROM campaign_deliveries WHERE campaign_id = :id",
        "DELETE FROM campaign_recipients WHERE campaign_id = :id",
        "DELETE FROM audit_events WHERE campaign_id = :id",
        "DELETE FROM users WHERE id = (SELECT owner_id FROM campaigns WHERE id = :id)",
    ],
)
async def test_the_database_refuses_a_raw_delete(api: AsyncClient, statement: str) -> None:
    shop = await make_shop(customers=2)
    campaign = await start_campaign(api, shop)
    await drain()
    before = await record(api, shop, campaign["id"])

    with pytest.raises(IntegrityError):
        async with get_engine().begin() as conn:
            await conn.execute(text(statement), {"id": campaign["id"]})

    assert await record(api, shop, campaign["id"]) == before
