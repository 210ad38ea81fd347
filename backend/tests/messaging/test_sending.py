from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import AuditEvent
from tests.messaging.conftest import BASE, World, create_messaging_campaign


async def ready_campaign(client: AsyncClient, world: World, **config: Any) -> dict[str, Any]:
    campaign = await create_messaging_campaign(client, world, **config)
    response = await client.post(
        f"{BASE}/{campaign['id']}/recipients",
        json={"user_ids": [world.alice.id, world.bruno.id]},
        headers=world.headers,
    )
    assert response.status_code == 200
    return campaign


async def send(client: AsyncClient, world: World, campaign_id: int, now: bool) -> Any:
    return await client.post(
        f"{BASE}/{campaign_id}/send",
        params={"send_immediately": str(now).lower()},
        headers=world.headers,
    )


def in_future(minutes: int = 60) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


class TestSendNowAndSchedule:
    async def test_send_now_moves_the_campaign_to_sending_and_audits(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await ready_campaign(client, world)
        response = await send(client, world, campaign["id"], now=True)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "sending"
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.campaign_id == campaign["id"], AuditEvent.action == "campaign.sent"
            )
        )
        assert event is not None
        assert event.ip_address == "203.0.113.7"

    async def test_schedule_in_the_future(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        when = in_future()
        campaign = await ready_campaign(client, world, scheduled_send_time=when)
        response = await send(client, world, campaign["id"], now=False)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "scheduled"
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.campaign_id == campaign["id"], AuditEvent.action == "campaign.scheduled"
            )
        )
        assert event is not None
        assert event.details["scheduled_send_time"] == datetime.fromisoformat(when).isoformat()

    async def test_schedule_in_the_past_is_a_422_and_changes_nothing(
        self, client: AsyncClient, world: World
    ) -> None:
        past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        campaign = await ready_campaign(client, world, scheduled_send_time=past)
        response = await send(client, world, campaign["id"], now=False)
        assert response.status_code == 422
        assert "in the past" in response.json()["detail"]
        again = await client.get(f"{BASE}/{campaign['id']}", headers=world.headers)
        assert again.json()["status"] == "draft"

    async def test_schedule_without_a_time_is_a_422(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await ready_campaign(client, world)
        response = await send(client, world, campaign["id"], now=False)
        assert response.status_code == 422
        assert "scheduled_send_time" in response.json()["detail"]

    async def test_a_time_without_timezone_is_refused(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.post(
            BASE,
            json={
                "name": "x",
                "campaign_type": "messaging",
                "place_ids": [world.paris.id],
                "messaging_config": {
                    "channels": ["email"],
                    "scheduled_send_time": "2030-01-01T10:00:00",
                },
            },
            headers=world.headers,
        )
        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert error["field"] == "messaging_config.scheduled_send_time"
        assert "timezone" in error["message"]


class TestNotReady:
    async def test_no_recipients(self, client: AsyncClient, world: World) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await send(client, world, campaign["id"], now=True)
        assert response.status_code == 422
        assert response.json()["detail"] == "Not ready to send: add at least one recipient."

    async def test_missing_content_for_a_chosen_channel(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await ready_campaign(client, world, email_subject=None, whatsapp_message=None)
        response = await send(client, world, campaign["id"], now=True)
        assert response.status_code == 422
        assert response.json()["detail"] == (
            "Not ready to send: email needs a subject; "
            "WhatsApp needs a message or an approved template."
        )

    async def test_a_non_messaging_campaign_cannot_be_sent(
        self, client: AsyncClient, world: World
    ) -> None:
        created = await client.post(
            BASE,
            json={
                "name": "Sale",
                "campaign_type": "price_reduction",
                "place_ids": [world.paris.id],
                "config": {"discount_percent": 10},
            },
            headers=world.headers,
        )
        response = await send(client, world, created.json()["id"], now=True)
        assert response.status_code == 422
        assert "Only messaging campaigns" in response.json()["detail"]


class TestFrozenAndCancel:
    async def test_a_sending_campaign_cannot_be_edited_or_resent(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await ready_campaign(client, world)
        await send(client, world, campaign["id"], now=True)
        url = f"{BASE}/{campaign['id']}"
        edit = await client.patch(url, json={"name": "changed"}, headers=world.headers)
        add = await client.post(
            f"{url}/recipients", json={"user_ids": [world.chloe.id]}, headers=world.headers
        )
        resend = await send(client, world, campaign["id"], now=True)
        for response in (edit, add, resend):
            assert response.status_code == 409, response.text
        assert "sending" in edit.json()["detail"]
        current = await client.get(url, headers=world.headers)
        assert current.json()["name"] == "Come back soon"

    async def test_cancel_a_scheduled_campaign(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await ready_campaign(client, world, scheduled_send_time=in_future())
        await send(client, world, campaign["id"], now=False)
        response = await client.post(f"{BASE}/{campaign['id']}/cancel", headers=world.headers)
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        stats = await client.get(f"{BASE}/{campaign['id']}/messaging-stats", headers=world.headers)
        assert stats.json()["pending"] == 0
        assert stats.json()["cancelled"] == 3  # Alice email+WhatsApp, Bruno email
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.campaign_id == campaign["id"], AuditEvent.action == "campaign.cancelled"
            )
        )
        assert event is not None

    async def test_cancel_of_a_draft_is_a_409(self, client: AsyncClient, world: World) -> None:
        campaign = await ready_campaign(client, world)
        response = await client.post(f"{BASE}/{campaign['id']}/cancel", headers=world.headers)
        assert response.status_code == 409
        assert "this one is draft" in response.json()["detail"]

    async def test_a_cancelled_campaign_can_be_rescheduled(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await ready_campaign(client, world, scheduled_send_time=in_future())
        await send(client, world, campaign["id"], now=False)
        await client.post(f"{BASE}/{campaign['id']}/cancel", headers=world.headers)
        response = await send(client, world, campaign["id"], now=False)
        assert response.json()["status"] == "scheduled"
        stats = await client.get(f"{BASE}/{campaign['id']}/messaging-stats", headers=world.headers)
        assert (stats.json()["pending"], stats.json()["cancelled"]) == (3, 0)

    async def test_send_summary_counts_per_channel_and_cost(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await ready_campaign(client, world)
        summary = await client.get(f"{BASE}/{campaign['id']}/send-summary", headers=world.headers)
        body = summary.json()
        body.pop("checks")  # TestSendChecklist
        body.pop("can_send")
        assert body == {
            "recipients": 2,
            "channels": [
                {
                    "channel": "email",
                    "deliverable": 2,
                    "skipped_missing_contact": 0,
                    "estimated_cost": "0",
                    "whatsapp": None,
                },
                {
                    # Alice never wrote: free text cannot reach her (and Bruno has no phone).
                    "channel": "whatsapp",
                    "deliverable": 0,
                    "skipped_missing_contact": 1,
                    "estimated_cost": "0.000",
                    "whatsapp": {"free_text": 0, "template": 0, "skipped_outside_window": 1},
                },
            ],
            "estimated_cost": "0.000",
            "currency": "USD",
            "place_timezones": ["Europe/London", "Europe/Paris"],
        }


class TestSendChecklist:
    """The summary names every check a send must pass; the send refuses what fails there."""

    async def checks(
        self, client: AsyncClient, world: World, campaign_id: int, now: bool
    ) -> tuple[bool, dict[str, tuple[bool, str]]]:
        response = await client.get(
            f"{BASE}/{campaign_id}/send-summary",
            params={"send_immediately": str(now).lower()},
            headers=world.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return body["can_send"], {c["key"]: (c["ok"], c["detail"]) for c in body["checks"]}

    async def test_an_empty_draft_fails_audience_and_subject_and_cannot_be_sent(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world, email_subject=None)
        can_send, checks = await self.checks(client, world, campaign["id"], now=True)
        assert can_send is False
        assert checks["audience"] == (False, "add at least one recipient")
        assert checks["subject"] == (False, "email needs a subject")
        assert checks["sender"][0] is True
        assert checks["content"][0] is True
        assert checks["schedule"] == (True, "now, when you confirm")
        response = await send(client, world, campaign["id"], now=True)
        assert response.status_code == 422
        assert response.json()["detail"] == (
            "Not ready to send: add at least one recipient; email needs a subject."
        )

    async def test_a_ready_campaign_passes_every_check(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await ready_campaign(client, world)
        can_send, checks = await self.checks(client, world, campaign["id"], now=True)
        assert can_send is True
        assert checks["audience"] == (True, "2 customers")
        assert all(ok for ok, _ in checks.values())

    async def test_a_schedule_shows_its_time_in_the_zone_chosen(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await ready_campaign(
            client,
            world,
            scheduled_send_time="2030-06-03T10:00:00+01:00",
            scheduled_time_zone="Europe/London",
        )
        can_send, checks = await self.checks(client, world, campaign["id"], now=False)
        assert can_send is True
        assert checks["schedule"] == (True, "Mon 03 Jun 2030, 10:00 (Europe/London)")
        read = await client.get(f"{BASE}/{campaign['id']}", headers=world.headers)
        assert read.json()["messaging_config"]["scheduled_time_zone"] == "Europe/London"

    async def test_scheduling_without_a_time_fails_the_schedule_check(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await ready_campaign(client, world)
        can_send, checks = await self.checks(client, world, campaign["id"], now=False)
        assert can_send is False
        assert checks["schedule"] == (False, "choose when to send, or send immediately")

    async def test_an_unknown_time_zone_is_a_422_that_names_it(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await client.patch(
            f"{BASE}/{campaign['id']}",
            json={
                "messaging_config": {"channels": ["email"], "scheduled_time_zone": "Mars/Olympus"}
            },
            headers=world.headers,
        )
        assert response.status_code == 422
        assert "'Mars/Olympus' is not a time zone" in response.text


class TestJobs:
    async def waiting_jobs(self, session: AsyncSession, campaign_id: int) -> list[str]:
        rows = await session.execute(
            text(
                "SELECT task_name FROM procrastinate_jobs WHERE status = 'todo' "
                "AND (args->>'campaign_id')::int = :id"
            ),
            {"id": campaign_id},
        )
        return [r[0] for r in rows]

    async def test_scheduling_defers_the_start_job_at_the_time(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        when = in_future(30)
        campaign = await ready_campaign(client, world, scheduled_send_time=when)
        await send(client, world, campaign["id"], now=False)
        scheduled_at = await session.scalar(
            text(
                "SELECT scheduled_at FROM procrastinate_jobs "
                "WHERE (args->>'campaign_id')::int = :id"
            ),
            {"id": campaign["id"]},
        )
        assert scheduled_at == datetime.fromisoformat(when)
        assert await self.waiting_jobs(session, campaign["id"]) == ["messaging.start_campaign"]

    async def test_cancel_and_delete_remove_the_waiting_job(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        first = await ready_campaign(client, world, scheduled_send_time=in_future())
        second = await ready_campaign(client, world, scheduled_send_time=in_future())
        await send(client, world, first["id"], now=False)
        await send(client, world, second["id"], now=False)
        await client.post(f"{BASE}/{first['id']}/cancel", headers=world.headers)
        deleted = await client.delete(f"{BASE}/{second['id']}", headers=world.headers)
        assert deleted.status_code == 204
        assert await self.waiting_jobs(session, first["id"]) == []
        assert await self.waiting_jobs(session, second["id"]) == []

    async def test_a_refused_send_defers_nothing(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await send(client, world, campaign["id"], now=True)
        assert response.status_code == 422
        assert await self.waiting_jobs(session, campaign["id"]) == []
