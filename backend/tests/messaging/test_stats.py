from __future__ import annotations

from decimal import Decimal

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import CampaignDelivery, CampaignRecipient
from tests.messaging.conftest import BASE, World, create_messaging_campaign


async def set_status(
    session: AsyncSession,
    campaign_id: int,
    user_id: int,
    channel: str,
    status: str,
    cost: str | None = None,
) -> None:
    recipient_id = await session.scalar(
        select(CampaignRecipient.id).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.user_id == user_id
        )
    )
    await session.execute(
        update(CampaignDelivery)
        .where(CampaignDelivery.recipient_id == recipient_id, CampaignDelivery.channel == channel)
        .values(status=status, cost=Decimal(cost) if cost else None)
    )
    await session.commit()


async def test_stats_arithmetic_overall_and_per_channel(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    campaign = await create_messaging_campaign(client, world)
    await client.post(
        f"{BASE}/{campaign['id']}/recipients", json={"select_all": {}}, headers=world.headers
    )
    # 6 recipients x 2 channels = 12 deliveries; at add time 5 were skipped (Chloe email,
    # Emma email, Bruno/Gina WhatsApp without phone, Hugo WhatsApp unreadable).
    cid = campaign["id"]
    await set_status(session, cid, world.alice.id, "email", "sent")
    await set_status(session, cid, world.alice.id, "whatsapp", "sent", cost="0.0050")
    await set_status(session, cid, world.bruno.id, "email", "failed")
    await set_status(session, cid, world.chloe.id, "whatsapp", "sent", cost="0.0042")
    await set_status(session, cid, world.gina.id, "email", "sending")

    stats = (await client.get(f"{BASE}/{cid}/messaging-stats", headers=world.headers)).json()

    assert stats["total_recipients"] == 6
    assert (stats["total"], stats["sent"], stats["failed"], stats["pending"], stats["skipped"]) == (
        12,
        3,
        1,
        3,
        5,
    )
    assert stats["sent_percent"] == 25.0
    assert stats["failed_percent"] == 8.3
    assert stats["pending_percent"] == 25.0
    assert stats["skipped_percent"] == 41.7
    assert stats["delivery_rate"] == 75.0  # 3 sent of 4 attempted
    assert Decimal(stats["cost"]) == Decimal("0.0092")
    email, whatsapp = stats["channels"]
    assert (
        email["channel"],
        email["sent"],
        email["failed"],
        email["pending"],
        email["skipped"],
    ) == ("email", 1, 1, 2, 2)
    assert email["delivery_rate"] == 50.0
    assert (whatsapp["sent"], whatsapp["pending"], whatsapp["skipped"]) == (2, 1, 3)
    assert whatsapp["sent_percent"] == 33.3


async def test_stats_of_an_empty_campaign_are_zero_not_errors(
    client: AsyncClient, world: World
) -> None:
    campaign = await create_messaging_campaign(client, world)
    stats = (
        await client.get(f"{BASE}/{campaign['id']}/messaging-stats", headers=world.headers)
    ).json()
    assert (stats["total_recipients"], stats["total"], stats["delivery_rate"]) == (0, 0, 0.0)
    assert [c["channel"] for c in stats["channels"]] == ["email", "whatsapp"]


async def test_counters_follow_deletes(client: AsyncClient, world: World) -> None:
    campaign = await create_messaging_campaign(client, world)
    url = f"{BASE}/{campaign['id']}"
    await client.post(f"{url}/recipients", json={"select_all": {}}, headers=world.headers)
    await client.delete(f"{url}/recipients", headers=world.headers)
    stats = (await client.get(f"{url}/messaging-stats", headers=world.headers)).json()
    assert (stats["total_recipients"], stats["total"]) == (0, 0)
