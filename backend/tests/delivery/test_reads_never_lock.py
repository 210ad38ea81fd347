"""Reads never wait on the sender: while another transaction holds the campaign's row (as the
worker's journal does, many times a second, while the campaign sends), every read of the
campaign answers at once. The app's connections here give up on a row lock after 200 ms
(`lock_timeout`), so a read that asked for one fails instead of waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from rebook import db
from rebook.app import create_app
from tests.delivery.conftest import BASE, Shop, make_shop

# Reads of a campaign sent as POST because they take a body; they change nothing.
READS_BY_POST = {"/api/v1/owner/campaigns/{campaign_id}/preview"}


def campaign_reads(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every endpoint that reads one campaign and changes nothing, from
    the API's own description (so a read added later is covered too)."""
    reads = []
    for path, operations in app.openapi()["paths"].items():
        if "{campaign_id}" not in path or path.count("{") > 1:
            continue  # …/recipients/{recipient_id} is a DELETE
        if "get" in operations:
            reads.append(("GET", path))
        elif path in READS_BY_POST:
            reads.append(("POST", path))
    return sorted(reads)


@pytest.fixture
async def impatient_app(database_url: str, committed: None) -> AsyncIterator[FastAPI]:
    """The app, on connections that wait at most 200 ms for any lock."""
    engine: AsyncEngine = create_async_engine(
        database_url, connect_args={"server_settings": {"lock_timeout": "200"}}
    )
    maker = async_sessionmaker(engine, expire_on_commit=False)

    async def impatient_session() -> AsyncIterator[AsyncSession]:
        async with maker() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()

    app = create_app(frontend_dist=None)
    app.dependency_overrides[db.get_session] = impatient_session
    yield app
    await engine.dispose()


async def sending_campaign(api: AsyncClient, shop: Shop) -> int:
    created = await api.post(
        BASE,
        json={
            "name": "Spring offer",
            "campaign_type": "messaging",
            "place_ids": [shop.paris.id],
            "messaging_config": {
                "channels": ["email", "whatsapp"],
                "email_subject": "Hello {{ first_name }}",
                "email_body": "<p>See you at {{ place_name }}</p>",
                "whatsapp_message": "Hi {{ first_name }}",
            },
        },
        headers=shop.headers,
    )
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["id"]
    added = await api.post(
        f"{BASE}/{campaign_id}/recipients", json={"select_all": {}}, headers=shop.headers
    )
    assert added.status_code == 200, added.text
    # No worker runs: the campaign stays `sending`, as it is while a worker sends it.
    sent = await api.post(
        f"{BASE}/{campaign_id}/send", params={"send_immediately": "true"}, headers=shop.headers
    )
    assert sent.status_code == 200, sent.text
    return campaign_id


class TestReadsWhileTheCampaignRowIsHeld:
    async def test_every_read_answers_while_another_transaction_holds_the_row(
        self, impatient_app: FastAPI, engine: AsyncEngine
    ) -> None:
        shop = await make_shop(customers=3)
        transport = ASGITransport(app=impatient_app, client=("203.0.113.9", 51000))
        async with AsyncClient(transport=transport, base_url="http://rebook.test") as api:
            campaign_id = await sending_campaign(api, shop)
            reads = campaign_reads(impatient_app)
            # The campaign, its recipients, their export, stats, send summary, history, preview.
            assert len(reads) >= 7, reads
            async with engine.connect() as holder:
                await holder.execute(
                    text("SELECT 1 FROM campaigns WHERE id = :id FOR UPDATE"), {"id": campaign_id}
                )
                answers: dict[str, Any] = {}
                for method, path in reads:
                    url = path.replace("{campaign_id}", str(campaign_id))
                    response = await api.request(method, url, headers=shop.headers)
                    assert response.status_code == 200, (path, response.text)
                    answers[path.rsplit("}", 1)[-1] or "/"] = response
                await holder.rollback()

        stats = answers["/messaging-stats"].json()
        assert stats["status"] == "sending"
        assert stats["total_recipients"] == 3
        recipients = answers["/recipients"].json()
        assert recipients["pagination"]["total_count"] == 3
        assert [r["status"] for r in recipients["items"]] == ["pending"] * 3
        assert answers["/recipients/export.csv"].text.count("\n") == 1 + 3 * 2

    async def test_a_change_still_waits_for_the_row(
        self, impatient_app: FastAPI, engine: AsyncEngine
    ) -> None:
        """The control: the held row does stop a request that locks it (a cancel), so the
        reads above answered because they take no lock, not because none was held."""
        shop = await make_shop(customers=2)
        transport = ASGITransport(
            app=impatient_app, client=("203.0.113.9", 51000), raise_app_exceptions=False
        )
        async with AsyncClient(transport=transport, base_url="http://rebook.test") as api:
            campaign_id = await sending_campaign(api, shop)
            async with engine.connect() as holder:
                await holder.execute(
                    text("SELECT 1 FROM campaigns WHERE id = :id FOR UPDATE"), {"id": campaign_id}
                )
                refused = await api.post(f"{BASE}/{campaign_id}/cancel", headers=shop.headers)
                await holder.rollback()
            assert refused.status_code >= 500
            cancelled = await api.post(f"{BASE}/{campaign_id}/cancel", headers=shop.headers)
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["status"] == "cancelled"
