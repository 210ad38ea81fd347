"""History that cannot be erased: a campaign that has sent is archived, never deleted; its
audit trail is the owner's to read, with what each event did, who did it and from where."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import AuditEvent, Campaign, CampaignDelivery
from tests.factories import auth_headers, create_owner
from tests.messaging.conftest import BASE, World, create_messaging_campaign

BROWSER = {"User-Agent": "Mozilla/5.0 (Macintosh) Firefox/140.0"}


def in_future(minutes: int = 60) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def with_recipients(client: AsyncClient, world: World, **config: Any) -> dict[str, Any]:
    campaign = await create_messaging_campaign(client, world, **config)
    added = await client.post(
        f"{BASE}/{campaign['id']}/recipients",
        json={"user_ids": [world.alice.id, world.bruno.id]},
        headers=world.headers,
    )
    assert added.status_code == 200, added.text
    return campaign


async def send_now(client: AsyncClient, world: World, campaign_id: int) -> None:
    response = await client.post(
        f"{BASE}/{campaign_id}/send", params={"send_immediately": "true"}, headers=world.headers
    )
    assert response.status_code == 200, response.text


async def events(client: AsyncClient, world: World, campaign_id: int, **params: Any) -> Any:
    response = await client.get(
        f"{BASE}/{campaign_id}/audit-events", params=params, headers=world.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def by_action(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The newest event of each action (the list is newest first)."""
    found: dict[str, dict[str, Any]] = {}
    for event in page["items"]:
        found.setdefault(event["action"], event)
    return found


class TestDeleteOrArchive:
    async def test_a_campaign_that_started_sending_cannot_be_deleted(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await with_recipients(client, world)
        await send_now(client, world, campaign["id"])
        await client.post(f"{BASE}/{campaign['id']}/cancel", headers=world.headers)

        response = await client.delete(f"{BASE}/{campaign['id']}", headers=world.headers)

        assert response.status_code == 409
        assert response.json()["error"] == "Conflict"
        assert "Archive it" in response.json()["detail"]
        kept = await client.get(f"{BASE}/{campaign['id']}", headers=world.headers)
        assert kept.status_code == 200
        assert kept.json()["can_delete"] is False
        assert kept.json()["first_sent_at"] is not None
        recipients = await client.get(f"{BASE}/{campaign['id']}/recipients", headers=world.headers)
        assert recipients.json()["pagination"]["total_count"] == 2
        trail = await events(client, world, campaign["id"])
        assert "campaign.sent" in by_action(trail)

    async def test_a_draft_that_never_sent_can_be_deleted(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await with_recipients(client, world, scheduled_send_time=in_future())
        await client.post(f"{BASE}/{campaign['id']}/send", headers=world.headers)  # scheduled
        read = await client.get(f"{BASE}/{campaign['id']}", headers=world.headers)
        assert read.json()["can_delete"] is True

        response = await client.delete(f"{BASE}/{campaign['id']}", headers=world.headers)

        assert response.status_code == 204, response.text
        assert (await session.get(Campaign, campaign["id"])) is None
        deleted = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "campaign.deleted")
        )
        assert deleted is not None
        assert deleted.details == {
            "campaign_id": campaign["id"],
            "name": "Come back soon",
            "status": "scheduled",
            "recipients": 2,
        }

    async def test_archive_hides_it_from_the_list_until_asked_for(
        self, client: AsyncClient, world: World
    ) -> None:
        sent = await with_recipients(client, world)
        await send_now(client, world, sent["id"])
        await client.post(f"{BASE}/{sent['id']}/cancel", headers=world.headers)
        draft = await create_messaging_campaign(client, world)

        archived = await client.post(f"{BASE}/{sent['id']}/archive", headers=world.headers)

        assert archived.status_code == 200, archived.text
        assert archived.json()["archived_at"] is not None

        async def listed(**params: Any) -> list[int]:
            response = await client.get(BASE, params=params, headers=world.headers)
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()["items"]]

        assert await listed() == [draft["id"]]
        assert await listed(archived="true") == [sent["id"]]
        assert await listed(archived="false") == [draft["id"]]
        assert await listed(status="cancelled") == [sent["id"]]
        back = await client.post(f"{BASE}/{sent['id']}/unarchive", headers=world.headers)
        assert back.json()["archived_at"] is None
        assert await listed() == [draft["id"], sent["id"]]

    async def test_an_archived_campaign_is_not_edited_nor_sent(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await with_recipients(client, world)
        await client.post(f"{BASE}/{campaign['id']}/archive", headers=world.headers)
        edit = await client.patch(
            f"{BASE}/{campaign['id']}", json={"name": "New"}, headers=world.headers
        )
        send = await client.post(
            f"{BASE}/{campaign['id']}/send",
            params={"send_immediately": "true"},
            headers=world.headers,
        )
        for response in (edit, send):
            assert response.status_code == 409, response.text
            assert "unarchive it" in response.json()["detail"]
        read = await client.get(f"{BASE}/{campaign['id']}", headers=world.headers)
        assert (read.json()["name"], read.json()["status"]) == ("Come back soon", "draft")

    async def test_a_scheduled_campaign_is_cancelled_before_it_is_archived(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await with_recipients(client, world, scheduled_send_time=in_future())
        await client.post(f"{BASE}/{campaign['id']}/send", headers=world.headers)
        response = await client.post(f"{BASE}/{campaign['id']}/archive", headers=world.headers)
        assert response.status_code == 409
        assert "cancel it" in response.json()["detail"]


class TestAuditTrail:
    async def test_each_change_says_what_it_did_who_and_from_where(
        self, client: AsyncClient, world: World
    ) -> None:
        first, later = in_future(60), in_future(120)
        campaign = await create_messaging_campaign(client, world, scheduled_send_time=first)
        url = f"{BASE}/{campaign['id']}"
        await client.post(
            f"{url}/recipients", json={"user_ids": [world.alice.id]}, headers=world.headers
        )
        await client.post(
            f"{url}/recipients",
            json={
                "select_all": {
                    "filter_by": "has_email",
                    "search": "bru",
                    "exclude_user_ids": [world.gina.id],
                }
            },
            headers={**world.headers, **BROWSER},
        )
        await client.post(f"{url}/send", headers=world.headers)
        config = campaign["messaging_config"] | {"scheduled_send_time": later}
        patched = await client.patch(url, json={"messaging_config": config}, headers=world.headers)
        assert patched.status_code == 200, patched.text
        await client.post(f"{url}/cancel", headers=world.headers)

        trail = await events(client, world, campaign["id"])

        assert [e["action"] for e in trail["items"]] == [
            "campaign.cancelled",
            "campaign.updated",
            "campaign.scheduled",
            "campaign.recipients_added",
            "campaign.recipients_added",
            "campaign.created",
        ]
        assert {e["actor"] for e in trail["items"]} == {"owner"}
        assert {e["ip_address"] for e in trail["items"]} == {"203.0.113.7"}
        by_ids, select_all = trail["items"][4], trail["items"][3]
        assert by_ids["details"] | {"place_ids": None} == {
            "by": "ids",
            "count": 1,
            "requested": 1,
            "user_ids": [world.alice.id],
            "place_ids": None,
            "channels": ["email", "whatsapp"],
        }
        assert select_all["user_agent"] == BROWSER["User-Agent"]
        assert select_all["details"]["by"] == "select_all"
        assert select_all["details"]["filter_by"] == "has_email"
        assert select_all["details"]["search"] == "bru"
        assert select_all["details"]["excluded_user_ids"] == [world.gina.id]
        assert select_all["details"]["count"] == 1  # Bruno
        scheduled = trail["items"][2]["details"]
        assert scheduled["scheduled_send_time"] == datetime.fromisoformat(first).isoformat()
        assert scheduled["recipients"] == 2
        assert scheduled["deliveries"]["email"] == {"pending": 2}
        moved = trail["items"][1]["details"]
        assert moved["changes"]["scheduled_send_time"] == {
            "from": datetime.fromisoformat(first).isoformat(),
            "to": datetime.fromisoformat(later).isoformat(),
        }
        assert moved["while_scheduled"] is True
        cancelled = trail["items"][0]["details"]
        assert cancelled["previous_status"] == "scheduled"
        assert cancelled["cancelled"] == 3  # Alice's email and WhatsApp, Bruno's email

    async def test_the_trail_is_paginated(self, client: AsyncClient, world: World) -> None:
        campaign = await create_messaging_campaign(client, world)
        for name in ("One", "Two", "Three"):
            await client.patch(
                f"{BASE}/{campaign['id']}", json={"name": name}, headers=world.headers
            )
        first = await events(client, world, campaign["id"], limit=3)
        second = await events(client, world, campaign["id"], limit=3, page=2)
        assert first["pagination"] == {"total_count": 4, "max_page": 2, "page": 1, "limit": 3}
        assert first["items"][0]["details"]["changes"]["name"] == {"from": "Two", "to": "Three"}
        assert [e["action"] for e in second["items"]] == ["campaign.created"]

    async def test_another_owners_trail_is_404(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        intruder = auth_headers(await create_owner(session))
        response = await client.get(f"{BASE}/{campaign['id']}/audit-events", headers=intruder)
        assert response.status_code == 404
        assert response.json()["detail"] == f"Campaign {campaign['id']} not found."


class TestDatabaseGuard:
    """Whatever the code above does, the database keeps the record."""

    async def refused(self, session: AsyncSession, sql: str, **params: Any) -> str:
        with pytest.raises(IntegrityError) as caught:
            async with session.begin_nested():
                await session.execute(text(sql), params)
        return str(caught.value.orig)

    async def test_raw_deletes_of_a_sent_campaign_are_refused(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await with_recipients(client, world)
        await send_now(client, world, campaign["id"])
        await session.execute(
            text("UPDATE campaign_deliveries SET attempts = 1 WHERE campaign_id = :id"),
            {"id": campaign["id"]},
        )
        cid = {"id": campaign["id"]}

        await self.refused(session, "DELETE FROM campaigns WHERE id = :id", **cid)
        await self.refused(
            session, "DELETE FROM campaign_deliveries WHERE campaign_id = :id", **cid
        )
        await self.refused(
            session, "DELETE FROM campaign_recipients WHERE campaign_id = :id", **cid
        )
        await self.refused(session, "DELETE FROM audit_events WHERE campaign_id = :id", **cid)
        await self.refused(session, "DELETE FROM users WHERE id = :id", id=world.owner.id)

        deliveries = await session.scalar(
            select(func.count())
            .select_from(CampaignDelivery)
            .where(CampaignDelivery.campaign_id == campaign["id"])
        )
        assert deliveries == 4  # Bruno has no phone: his WhatsApp was skipped
        assert (await events(client, world, campaign["id"]))["pagination"]["total_count"] == 3

    async def test_a_sent_campaign_without_any_event_is_kept_too(
        self, world: World, session: AsyncSession
    ) -> None:
        campaign_id = await session.scalar(
            text(
                "INSERT INTO campaigns (owner_id, name, campaign_type, status, config) "
                "VALUES (:owner, 'Imported', 'messaging', 'sent', '{}') RETURNING id"
            ),
            {"owner": world.owner.id},
        )
        message = await self.refused(
            session, "DELETE FROM campaigns WHERE id = :id", id=campaign_id
        )
        assert f"campaign {campaign_id} has sent messages: archive it" in message

    async def test_audit_events_cannot_be_rewritten(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        message = await self.refused(
            session,
            "UPDATE audit_events SET details = '{}' WHERE campaign_id = :id",
            id=campaign["id"],
        )
        assert "cannot be changed" in message

    async def test_the_first_send_is_kept_once_set(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await with_recipients(client, world)
        await send_now(client, world, campaign["id"])
        await session.execute(
            text("UPDATE campaigns SET status = 'draft', first_sent_at = NULL WHERE id = :id"),
            {"id": campaign["id"]},
        )
        kept = await session.scalar(
            text("SELECT first_sent_at FROM campaigns WHERE id = :id"), {"id": campaign["id"]}
        )
        assert kept is not None
