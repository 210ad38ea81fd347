from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import AuditEvent, Campaign, User
from tests.factories import auth_headers, create_owner, create_place

BASE = "/api/v1/owner/campaigns"


def price_reduction(place_ids: list[int], /, **overrides: Any) -> dict[str, Any]:
    payload = {
        "name": "Autumn -20%",
        "campaign_type": "price_reduction",
        "place_ids": place_ids,
        "config": {"discount_percent": 20},
    }
    return {**payload, **overrides}


@pytest.fixture
async def owner(session: AsyncSession) -> User:
    return await create_owner(session)


class TestCreateAndRead:
    async def test_created_campaign_is_listed_and_readable(
        self, client: AsyncClient, session: AsyncSession, owner: User
    ) -> None:
        place = await create_place(session, owner)
        created = await client.post(
            BASE, json=price_reduction([place.id]), headers=auth_headers(owner)
        )
        assert created.status_code == 201
        body = created.json()
        assert body["name"] == "Autumn -20%"
        assert body["status"] == "draft"
        assert body["place_ids"] == [place.id]
        assert body["config"] == {"discount_percent": 20}

        listed = await client.get(BASE, headers=auth_headers(owner))
        assert [c["id"] for c in listed.json()["items"]] == [body["id"]]
        assert listed.json()["pagination"]["total_count"] == 1

        one = await client.get(f"{BASE}/{body['id']}", headers=auth_headers(owner))
        assert one.json() == body

    @pytest.mark.parametrize(
        ("campaign_type", "config"),
        [
            ("rewards_increase", {"points_multiplier": 2}),
            ("free_service", {"service_name": "Free blow-dry", "after_bookings": 5}),
        ],
    )
    async def test_each_existing_type_is_accepted_with_its_config(
        self,
        client: AsyncClient,
        session: AsyncSession,
        owner: User,
        campaign_type: str,
        config: dict[str, Any],
    ) -> None:
        place = await create_place(session, owner)
        response = await client.post(
            BASE,
            json={
                "name": "X",
                "campaign_type": campaign_type,
                "place_ids": [place.id],
                "config": config,
            },
            headers=auth_headers(owner),
        )
        assert response.status_code == 201, response.text
        assert response.json()["campaign_type"] == campaign_type

    async def test_list_paginates(
        self, client: AsyncClient, session: AsyncSession, owner: User
    ) -> None:
        place = await create_place(session, owner)
        for i in range(5):
            await client.post(
                BASE, json=price_reduction([place.id], name=f"C{i}"), headers=auth_headers(owner)
            )
        first = await client.get(f"{BASE}?page=1&limit=2", headers=auth_headers(owner))
        third = await client.get(f"{BASE}?page=3&limit=2", headers=auth_headers(owner))
        assert first.json()["pagination"] == {
            "total_count": 5,
            "max_page": 3,
            "page": 1,
            "limit": 2,
        }
        assert [c["name"] for c in first.json()["items"]] == ["C4", "C3"]
        assert [c["name"] for c in third.json()["items"]] == ["C0"]

    async def test_create_is_audited_with_the_callers_address(
        self, client: AsyncClient, session: AsyncSession, owner: User
    ) -> None:
        place = await create_place(session, owner)
        created = await client.post(
            BASE, json=price_reduction([place.id]), headers=auth_headers(owner)
        )
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.campaign_id == created.json()["id"])
        )
        assert event is not None
        assert (event.action, event.owner_id, event.ip_address) == (
            "campaign.created",
            owner.id,
            "203.0.113.7",
        )


class TestUpdateAndDelete:
    async def test_patch_changes_only_given_fields(
        self, client: AsyncClient, session: AsyncSession, owner: User
    ) -> None:
        place = await create_place(session, owner)
        created = (
            await client.post(BASE, json=price_reduction([place.id]), headers=auth_headers(owner))
        ).json()
        response = await client.patch(
            f"{BASE}/{created['id']}",
            json={"status": "active", "config": {"discount_percent": 30}},
            headers=auth_headers(owner),
        )
        assert response.status_code == 200
        assert response.json()["status"] == "active"
        assert response.json()["config"] == {"discount_percent": 30}
        assert response.json()["name"] == created["name"]

    async def test_delete_removes_it(
        self, client: AsyncClient, session: AsyncSession, owner: User
    ) -> None:
        place = await create_place(session, owner)
        created = (
            await client.post(BASE, json=price_reduction([place.id]), headers=auth_headers(owner))
        ).json()
        deleted = await client.delete(f"{BASE}/{created['id']}", headers=auth_headers(owner))
        assert deleted.status_code == 204
        again = await client.get(f"{BASE}/{created['id']}", headers=auth_headers(owner))
        assert again.status_code == 404


class TestOwnerIsolation:
    async def test_another_owners_campaign_is_404_on_every_endpoint(
        self, client: AsyncClient, session: AsyncSession, owner: User
    ) -> None:
        place = await create_place(session, owner)
        campaign = (
            await client.post(BASE, json=price_reduction([place.id]), headers=auth_headers(owner))
        ).json()
        intruder = await create_owner(session)
        url = f"{BASE}/{campaign['id']}"
        headers = auth_headers(intruder)

        responses = [
            await client.get(url, headers=headers),
            await client.patch(url, json={"name": "hijacked"}, headers=headers),
            await client.delete(url, headers=headers),
        ]
        for response in responses:
            assert response.status_code == 404
            assert response.json() == {
                "error": "NotFound",
                "detail": f"Campaign {campaign['id']} not found.",
            }
        listed = await client.get(BASE, headers=headers)
        assert listed.json()["items"] == []
        still = await client.get(url, headers=auth_headers(owner))
        assert still.json()["name"] == "Autumn -20%"

    async def test_campaign_cannot_target_another_owners_place(
        self, client: AsyncClient, session: AsyncSession, owner: User
    ) -> None:
        mine = await create_place(session, owner)
        theirs = await create_place(session, await create_owner(session))
        owner_id, their_place_id = owner.id, theirs.id
        response = await client.post(
            BASE, json=price_reduction([mine.id, their_place_id]), headers=auth_headers(owner)
        )
        assert response.status_code == 404
        assert response.json()["detail"] == f"Place not found: {their_place_id}."
        count = await session.scalar(
            select(func.count()).select_from(Campaign).where(Campaign.owner_id == owner_id)
        )
        assert count == 0

    async def test_patch_cannot_move_a_campaign_to_another_owners_place(
        self, client: AsyncClient, session: AsyncSession, owner: User
    ) -> None:
        mine = await create_place(session, owner)
        theirs = await create_place(session, await create_owner(session))
        mine_id = mine.id
        created = (
            await client.post(BASE, json=price_reduction([mine.id]), headers=auth_headers(owner))
        ).json()
        response = await client.patch(
            f"{BASE}/{created['id']}",
            json={"place_ids": [theirs.id], "name": "renamed"},
            headers=auth_headers(owner),
        )
        assert response.status_code == 404
        unchanged = await client.get(f"{BASE}/{created['id']}", headers=auth_headers(owner))
        assert unchanged.json()["place_ids"] == [mine_id]
        assert unchanged.json()["name"] == "Autumn -20%"


class TestValidation:
    @pytest.mark.parametrize(
        ("payload_change", "field", "message_part"),
        [
            ({"name": ""}, "name", "at least 1 character"),
            ({"place_ids": []}, "place_ids", "at least 1 item"),
            ({"campaign_type": "lottery"}, "campaign_type", "price_reduction"),
            ({"config": {"discount_percent": 120}}, "config", "less than or equal to 90"),
            ({"config": None}, "config", "needs config"),
        ],
    )
    async def test_bad_input_is_a_422_with_field_and_sentence(
        self,
        client: AsyncClient,
        session: AsyncSession,
        owner: User,
        payload_change: dict[str, Any],
        field: str,
        message_part: str,
    ) -> None:
        place = await create_place(session, owner)
        response = await client.post(
            BASE, json=price_reduction([place.id], **payload_change), headers=auth_headers(owner)
        )
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "ValidationError"
        assert any(e["field"] == field and message_part in e["message"] for e in body["errors"]), (
            body
        )
        listed = await client.get(BASE, headers=auth_headers(owner))
        assert listed.json()["pagination"]["total_count"] == 0

    async def test_unknown_campaign_is_404(self, client: AsyncClient, owner: User) -> None:
        response = await client.get(f"{BASE}/999999", headers=auth_headers(owner))
        assert response.status_code == 404

    async def test_page_limit_is_capped(self, client: AsyncClient, owner: User) -> None:
        response = await client.get(f"{BASE}?limit=5000", headers=auth_headers(owner))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "limit"
