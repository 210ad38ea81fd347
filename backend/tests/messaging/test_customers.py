from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from tests.messaging.conftest import BASE, World

URL = f"{BASE}/messaging/customers"


async def list_customers(
    client: AsyncClient, world: World, place_ids: list[int] | None = None, **params: Any
) -> dict[str, Any]:
    ids = place_ids or [world.paris.id, world.london.id]
    response = await client.get(URL, params={"place_ids": ids, **params}, headers=world.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [c["name"] for c in body["items"]]


class TestConsentAndScope:
    async def test_only_consenting_reachable_customers_of_these_places_are_listed(
        self, client: AsyncClient, world: World
    ) -> None:
        body = await list_customers(client, world)
        # Denis (no consent), Fabien (rival's customer only) and Ines (email only, unsubscribed
        # from it) are absent; Emma stays for WhatsApp; Gina's opt-out was from the rival.
        assert names(body) == [
            "Alice Arnaud",
            "Bruno Bernard",
            "Chloe Clark",
            "Emma Evans",
            "Gina Garcia",
            "Hugo Henry",
        ]
        assert body["pagination"]["total_count"] == 6
        assert all(c["gdpr_marketing_consent"] for c in body["items"])

    async def test_each_customer_once_with_bookings_at_the_chosen_places_only(
        self, client: AsyncClient, world: World
    ) -> None:
        body = await list_customers(client, world)
        alice = next(c for c in body["items"] if c["name"] == "Alice Arnaud")
        gina = next(c for c in body["items"] if c["name"] == "Gina Garcia")
        assert alice["total_bookings"] == 2
        assert alice["last_booking_date"] is not None
        assert gina["total_bookings"] == 1  # her booking at the rival's place is not counted

    async def test_phone_is_masked_except_the_last_digits(
        self, client: AsyncClient, world: World
    ) -> None:
        body = await list_customers(client, world, search="alice")
        assert body["items"][0]["phone"] == "••••••5678"

    async def test_only_customers_of_the_selected_places(
        self, client: AsyncClient, world: World
    ) -> None:
        body = await list_customers(client, world, place_ids=[world.london.id])
        assert names(body) == ["Bruno Bernard", "Chloe Clark"]

    async def test_another_owners_place_is_404_and_lists_nothing(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.get(
            URL,
            params={"place_ids": [world.paris.id, world.rival_place.id]},
            headers=world.headers,
        )
        assert response.status_code == 404
        assert response.json()["detail"] == f"Place not found: {world.rival_place.id}."

    async def test_place_ids_are_required(self, client: AsyncClient, world: World) -> None:
        response = await client.get(URL, headers=world.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "place_ids"


class TestFiltersAndSearch:
    async def test_has_email_excludes_missing_and_unsubscribed_emails(
        self, client: AsyncClient, world: World
    ) -> None:
        body = await list_customers(client, world, filter_by="has_email")
        assert names(body) == ["Alice Arnaud", "Bruno Bernard", "Gina Garcia", "Hugo Henry"]

    async def test_has_phone(self, client: AsyncClient, world: World) -> None:
        body = await list_customers(client, world, filter_by="has_phone")
        assert names(body) == ["Alice Arnaud", "Chloe Clark", "Emma Evans"]  # Hugo's is invalid

    async def test_unknown_filter_is_a_422_listing_the_choices(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.get(
            URL, params={"place_ids": [world.paris.id], "filter_by": "vip"}, headers=world.headers
        )
        assert response.status_code == 422
        assert "has_email" in response.json()["errors"][0]["message"]

    async def test_search_matches_name_fragment_case_insensitively(
        self, client: AsyncClient, world: World
    ) -> None:
        assert names(await list_customers(client, world, search="ARNA")) == ["Alice Arnaud"]

    async def test_search_matches_email_fragment(self, client: AsyncClient, world: World) -> None:
        email = world.bruno.email
        assert email is not None
        fragment = email.split("@")[0][-6:]
        assert names(await list_customers(client, world, search=fragment)) == ["Bruno Bernard"]

    async def test_search_matches_phone_digits_whatever_the_spacing(
        self, client: AsyncClient, world: World
    ) -> None:
        assert names(await list_customers(client, world, search="34 56 78")) == ["Alice Arnaud"]

    async def test_search_wildcards_are_literal(self, client: AsyncClient, world: World) -> None:
        assert names(await list_customers(client, world, search="%")) == []


class TestPlansOnALongRunningServer:
    async def test_searches_are_planned_for_their_pattern_every_time(
        self, client: AsyncClient, session: AsyncSession, world: World
    ) -> None:
        """After five runs of a statement on a connection PostgreSQL may switch to a generic
        plan, blind to the pattern (forced here, as a long-running server's connections end
        up): the search and its total are still planned for what is searched."""
        await session.execute(text("SET plan_cache_mode = force_generic_plan"))
        # The connection may hold search statements of earlier tests: count only this one's.
        before = await self.search_plans(session)
        for _ in range(3):
            body = await list_customers(client, world, search="arna")
            assert names(body) == ["Alice Arnaud"]
            assert body["pagination"]["total_count"] == 1
        after = await self.search_plans(session)
        ran = {
            statement: (
                generic - before.get(statement, (0, 0))[0],
                custom - before.get(statement, (0, 0))[1],
            )
            for statement, (generic, custom) in after.items()
            if (generic, custom) != before.get(statement)
        }
        assert len(ran) >= 2, ran  # the page and its total
        assert all(generic == 0 and custom >= 3 for generic, custom in ran.values()), ran

    @staticmethod
    async def search_plans(session: AsyncSession) -> dict[str, tuple[int, int]]:
        rows = (
            await session.execute(
                text(
                    "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE '%search_text LIKE%' "
                    "AND statement NOT LIKE '%pg_prepared_statements%'"
                )
            )
        ).all()
        return {statement: (generic, custom) for statement, generic, custom in rows}


class TestPagination:
    async def test_pages_have_no_gaps_or_repeats(
        self, client: AsyncClient, session: AsyncSession, world: World
    ) -> None:
        for i in range(7):
            await create_customer(
                session, first_name="Zed", last_name="Same", booked_at=[world.paris]
            )
            del i
        expected = names(await list_customers(client, world, limit=100))
        assert len(expected) == 13

        by_page: list[str] = []
        ids: list[int] = []
        for page in (1, 2, 3, 4, 5):
            body = await list_customers(client, world, page=page, limit=3)
            by_page += names(body)
            ids += [c["user_id"] for c in body["items"]]
            assert body["pagination"]["total_count"] == 13
            assert body["pagination"]["max_page"] == 5
        assert by_page == expected
        assert len(set(ids)) == 13

    async def test_cursor_walk_returns_everyone_once_in_order(
        self, client: AsyncClient, session: AsyncSession, world: World
    ) -> None:
        for _ in range(5):
            await create_customer(
                session, first_name="Zed", last_name="Same", booked_at=[world.paris]
            )
        expected = names(await list_customers(client, world, limit=100))
        walked: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 4}
            if cursor:
                params["cursor"] = cursor
            body = await list_customers(client, world, **params)
            walked += names(body)
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert walked == expected

    async def test_a_forged_cursor_is_a_clear_422(self, client: AsyncClient, world: World) -> None:
        response = await client.get(
            URL, params={"place_ids": [world.paris.id], "cursor": "garbage"}, headers=world.headers
        )
        assert response.status_code == 422
        assert "cursor" in response.json()["detail"]
