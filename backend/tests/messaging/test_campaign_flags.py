"""What the owner may do next is part of every campaign the API returns (`can_edit`,
`can_send`, `can_cancel`), so the web app shows the buttons the API would accept and
never restates the status rules; each flag agrees with what the API then does."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.messaging.conftest import BASE, World
from tests.messaging.test_history import in_future, with_recipients


async def flags(client: AsyncClient, world: World, campaign_id: int) -> dict[str, Any]:
    read = await client.get(f"{BASE}/{campaign_id}", headers=world.headers)
    assert read.status_code == 200, read.text
    body = read.json()
    return {key: body[key] for key in ("status", "can_edit", "can_send", "can_cancel")}


class TestCampaignFlags:
    async def test_flags_follow_the_campaign_through_its_life(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await with_recipients(client, world, scheduled_send_time=in_future())
        cid = campaign["id"]
        assert campaign["can_send"] is True  # the answer to the create carries them too
        assert await flags(client, world, cid) == {
            "status": "draft",
            "can_edit": True,
            "can_send": True,
            "can_cancel": False,
        }
        refused = await client.post(f"{BASE}/{cid}/cancel", headers=world.headers)
        assert refused.status_code == 409

        scheduled = await client.post(f"{BASE}/{cid}/send", headers=world.headers)
        assert scheduled.status_code == 200, scheduled.text
        assert {k: scheduled.json()[k] for k in ("can_edit", "can_send", "can_cancel")} == {
            "can_edit": True,  # a scheduled campaign can still be changed (rescheduled)
            "can_send": False,
            "can_cancel": True,
        }
        again = await client.post(f"{BASE}/{cid}/send", headers=world.headers)
        assert again.status_code == 409

        await client.post(f"{BASE}/{cid}/cancel", headers=world.headers)
        assert (await flags(client, world, cid))["can_send"] is True

        sending = await client.post(
            f"{BASE}/{cid}/send", params={"send_immediately": "true"}, headers=world.headers
        )
        assert sending.status_code == 200, sending.text
        assert await flags(client, world, cid) == {
            "status": "sending",
            "can_edit": False,
            "can_send": False,
            "can_cancel": True,
        }
        frozen = await client.patch(f"{BASE}/{cid}", json={"name": "x"}, headers=world.headers)
        assert frozen.status_code == 409

        await client.post(f"{BASE}/{cid}/cancel", headers=world.headers)
        archived = await client.post(f"{BASE}/{cid}/archive", headers=world.headers)
        assert archived.status_code == 200, archived.text
        assert {k: archived.json()[k] for k in ("can_edit", "can_send", "can_cancel")} == {
            "can_edit": False,
            "can_send": False,
            "can_cancel": False,
        }
        assert (
            await client.patch(f"{BASE}/{cid}", json={"name": "x"}, headers=world.headers)
        ).status_code == 409
        assert (await client.post(f"{BASE}/{cid}/send", headers=world.headers)).status_code == 409

    async def test_an_offer_can_be_edited_never_sent_or_cancelled(
        self, client: AsyncClient, world: World
    ) -> None:
        created = await client.post(
            BASE,
            json={
                "name": "Spring offer",
                "campaign_type": "price_reduction",
                "place_ids": [world.paris.id],
                "config": {"discount_percent": 10},
            },
            headers=world.headers,
        )
        assert created.status_code == 201, created.text
        assert await flags(client, world, created.json()["id"]) == {
            "status": "draft",
            "can_edit": True,
            "can_send": False,
            "can_cancel": False,
        }
