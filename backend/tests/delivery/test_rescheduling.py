"""Rescheduling takes effect: a scheduled campaign whose time is moved starts at the new time
(earlier or later), with the content saved last."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from rebook.db import session_scope
from rebook.delivery import queue
from rebook.delivery.recovery import plan_missing_jobs
from rebook.delivery.runtime import close_senders, run_worker
from tests.delivery.conftest import BASE, Shop, deliveries, drain, make_shop, start_campaign, stats

pytestmark = pytest.mark.usefixtures("committed")


async def start_jobs(campaign_id: int) -> list[datetime]:
    """When the campaign's waiting start jobs are due."""
    async with session_scope() as session:
        rows = await session.execute(
            text(
                "SELECT scheduled_at FROM procrastinate_jobs WHERE status = 'todo' "
                "AND task_name = :task AND (args->>'campaign_id')::int = :id"
            ),
            {"task": queue.START_TASK, "id": campaign_id},
        )
        return [r[0] for r in rows]


async def move(
    api: AsyncClient, shop: Shop, campaign: dict[str, Any], when: datetime, **content: Any
) -> Any:
    config = campaign["messaging_config"] | {"scheduled_send_time": when.isoformat(), **content}
    return await api.patch(
        f"{BASE}/{campaign['id']}", json={"messaging_config": config}, headers=shop.headers
    )


async def outbox_subjects(api: AsyncClient, shop: Shop) -> list[str]:
    response = await api.get("/api/v1/owner/outbox", params={"limit": 200}, headers=shop.headers)
    return sorted(str(m["subject"]) for m in response.json()["items"] if m["channel"] == "email")


async def bring_forward(campaign_id: int, seconds: float) -> None:
    """What waiting `seconds` does to a scheduled campaign, without the wait: its send time
    and its waiting start job move that much earlier."""
    async with session_scope() as session:
        back = {"id": campaign_id, "back": seconds}
        await session.execute(
            text(
                "UPDATE campaigns SET config = jsonb_set(config, '{scheduled_send_time}', "
                "to_jsonb(to_char(((config->>'scheduled_send_time')::timestamptz "
                "- make_interval(secs => :back)) AT TIME ZONE 'UTC', "
                '\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\'))) WHERE id = :id'
            ),
            back,
        )
        await session.execute(
            text(
                "UPDATE procrastinate_jobs SET scheduled_at = scheduled_at - "
                "make_interval(secs => :back) WHERE status = 'todo' "
                "AND (args->>'campaign_id')::int = :id"
            ),
            back,
        )


async def worker_registered() -> None:
    """Until the worker started in this test serves the queue."""
    for _ in range(600):
        async with session_scope() as session:
            if await session.scalar(text("SELECT count(*) FROM procrastinate_workers")):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the worker never started")


class TestMovedEarlier:
    async def test_it_starts_at_the_new_time_with_the_content_saved_last(
        self, api: AsyncClient
    ) -> None:
        shop = await make_shop(customers=2)
        old = datetime.now(UTC) + timedelta(hours=1)
        campaign = await start_campaign(
            api, shop, send_now=False, scheduled_send_time=old.isoformat()
        )
        new = datetime.now(UTC) + timedelta(seconds=1.5)

        response = await move(api, shop, campaign, new, email_subject="Tomorrow, {{ first_name }}")

        assert response.status_code == 200, response.text
        assert await start_jobs(campaign["id"]) == [new]
        await drain()  # before the new time: nothing is due
        assert (await stats(api, shop, campaign["id"]))["status"] == "scheduled"
        assert await outbox_subjects(api, shop) == []

        await bring_forward(campaign["id"], (new - datetime.now(UTC)).total_seconds())
        await drain()

        assert (await stats(api, shop, campaign["id"]))["status"] == "sent"
        assert await outbox_subjects(api, shop) == ["Tomorrow, Client0", "Tomorrow, Client1"]

    async def test_a_running_worker_starts_it_on_time(self, api: AsyncClient) -> None:
        shop = await make_shop(customers=2)
        old = datetime.now(UTC) + timedelta(minutes=5)
        campaign = await start_campaign(
            api, shop, send_now=False, scheduled_send_time=old.isoformat()
        )
        worker = asyncio.create_task(run_worker(install_signal_handlers=False))
        try:
            await worker_registered()  # up, with nothing due
            new = datetime.now(UTC) + timedelta(seconds=1)
            assert (await move(api, shop, campaign, new)).status_code == 200
            for _ in range(100):
                body = await stats(api, shop, campaign["id"])
                if body["status"] == "sent":
                    break
                await asyncio.sleep(0.1)
        finally:
            worker.cancel()
            with pytest.raises(asyncio.CancelledError):
                await worker
            await close_senders()
        assert body["status"] == "sent"
        sent_at = [
            datetime.fromisoformat(d["sent_at"])
            for d in await deliveries(api, shop, campaign["id"])
        ]
        assert new <= min(sent_at) < old
        late = (min(sent_at) - new).total_seconds()
        print(f"moved from +5 min to +1 s: first message {late:.2f} s after the new time")  # noqa: T201


class TestMovedLater:
    async def test_it_does_not_start_at_the_old_time(self, api: AsyncClient) -> None:
        shop = await make_shop(customers=2)
        old = datetime.now(UTC) + timedelta(seconds=1.5)
        campaign = await start_campaign(
            api, shop, send_now=False, scheduled_send_time=old.isoformat()
        )
        new = datetime.now(UTC) + timedelta(hours=1)

        assert (await move(api, shop, campaign, new)).status_code == 200

        assert await start_jobs(campaign["id"]) == [new]
        await drain()
        # The old time passing starts nothing: no job waits for it, and the safety net, on a
        # clock past it, agrees.
        assert await plan_missing_jobs(now=old + timedelta(seconds=1)) == 0
        assert (await stats(api, shop, campaign["id"]))["status"] == "scheduled"
        assert await outbox_subjects(api, shop) == []
        assert await start_jobs(campaign["id"]) == [new]

    async def test_a_time_already_past_is_refused_and_changes_nothing(
        self, api: AsyncClient
    ) -> None:
        shop = await make_shop(customers=1)
        old = datetime.now(UTC) + timedelta(hours=1)
        campaign = await start_campaign(
            api, shop, send_now=False, scheduled_send_time=old.isoformat()
        )

        response = await move(
            api, shop, campaign, datetime.now(UTC) - timedelta(minutes=1), email_subject="Hi"
        )

        assert response.status_code == 422
        assert "in the past" in response.json()["detail"]
        read = (await api.get(f"{BASE}/{campaign['id']}", headers=shop.headers)).json()
        assert datetime.fromisoformat(read["messaging_config"]["scheduled_send_time"]) == old
        assert read["messaging_config"]["email_subject"] == "Hello {{ first_name }}"
        assert await start_jobs(campaign["id"]) == [old]
