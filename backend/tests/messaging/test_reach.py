"""Who will actually get it: WhatsApp reaches only a valid number, and the list, its counts,
select-all and the send agree on it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from httpx import AsyncClient
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from rebook.migrations import alembic_config
from rebook.models import User
from tests.factories import create_customer
from tests.messaging.conftest import DatabaseAt, World, create_messaging_campaign
from tests.messaging.test_customers import URL, list_customers, names
from tests.messaging.test_recipients import add, by_name, recipients

# What the database itself says an owner's customer reachable on WhatsApp is: consenting,
# booked at one of these places, a valid number, not opted out of this owner's WhatsApp.
WHATSAPP_TRUTH = """
SELECT u.first_name || ' ' || u.last_name
FROM users u
WHERE u.gdpr_marketing_consent AND u.role = 'customer' AND u.phone_e164 IS NOT NULL
  AND EXISTS (SELECT 1 FROM bookings b WHERE b.user_id = u.id AND b.place_id = ANY(:places))
  AND NOT EXISTS (SELECT 1 FROM marketing_suppressions s
                  WHERE s.user_id = u.id AND s.owner_id = :owner AND s.channel = 'whatsapp')
ORDER BY u.last_name, u.first_name, u.id
"""


async def whatsapp_truth(session: AsyncSession, world: World, place_ids: list[int]) -> list[str]:
    rows = await session.scalars(
        text(WHATSAPP_TRUTH), {"places": place_ids, "owner": world.owner.id}
    )
    return list(rows)


async def counts_match_their_rows(session: AsyncSession) -> bool:
    """marketing_audience_counts says what a recount of marketing_audience says."""
    differ = await session.scalar(
        text(
            """
            SELECT count(*) FROM (
              SELECT owner_id, marketable, email_ok, whatsapp_ok, count(*)::int AS n
              FROM marketing_audience GROUP BY 1, 2, 3, 4
            ) r FULL JOIN (SELECT * FROM marketing_audience_counts WHERE count <> 0) c
              USING (owner_id, marketable, email_ok, whatsapp_ok)
            WHERE r.n IS DISTINCT FROM c.count
            """
        )
    )
    return differ == 0


@pytest.fixture
async def jules(session: AsyncSession, world: World) -> User:
    """No email and a number that is not a valid one: nothing can reach him."""
    return await create_customer(
        session,
        first_name="Jules",
        last_name="Jacob",
        email=None,
        phone="0000",
        booked_at=[world.paris],
    )


class TestWithPhoneMeansAValidNumber:
    async def test_with_phone_lists_and_counts_only_valid_numbers_like_the_database(
        self, client: AsyncClient, world: World, session: AsyncSession, jules: User
    ) -> None:
        places = [world.paris.id, world.london.id]
        body = await list_customers(client, world, filter_by="has_phone")
        # Hugo's "12" is on file but is no number; Jules has nothing else.
        assert names(body) == ["Alice Arnaud", "Chloe Clark", "Emma Evans"]
        assert names(body) == await whatsapp_truth(session, world, places)
        assert body["pagination"]["total_count"] == 3

    async def test_the_count_with_some_places_or_a_search_agrees(
        self, client: AsyncClient, world: World, session: AsyncSession, jules: User
    ) -> None:
        paris = await list_customers(client, world, [world.paris.id], filter_by="has_phone")
        assert names(paris) == await whatsapp_truth(session, world, [world.paris.id])
        assert paris["pagination"]["total_count"] == 2  # Alice, Emma
        searched = await list_customers(client, world, filter_by="has_phone", search="h")
        # "h": Chloe, Hugo Henry; Hugo's number is invalid.
        assert names(searched) == ["Chloe Clark"]
        assert searched["pagination"]["total_count"] == 1

    async def test_the_trigger_kept_flags_follow_a_number_becoming_valid_or_not(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        await session.execute(
            update(User).where(User.id == world.hugo.id).values(phone_e164="+33611223344")
        )
        await session.execute(update(User).where(User.id == world.alice.id).values(phone_e164=None))
        await session.commit()
        body = await list_customers(client, world, filter_by="has_phone")
        assert names(body) == ["Chloe Clark", "Emma Evans", "Hugo Henry"]
        assert body["pagination"]["total_count"] == 3
        assert await counts_match_their_rows(session)


class TestUnreachableIsNotSelectable:
    async def test_no_email_and_an_invalid_number_is_not_listed(
        self, client: AsyncClient, world: World, jules: User
    ) -> None:
        body = await list_customers(client, world)
        assert "Jules Jacob" not in names(body)
        assert body["pagination"]["total_count"] == 6
        assert names(await list_customers(client, world, search="jules")) == []

    async def test_adding_them_by_id_is_refused_and_adds_nobody(
        self, client: AsyncClient, world: World, jules: User
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await add(client, world, campaign["id"], {"user_ids": [jules.id]})
        assert response.status_code == 422
        assert str(jules.id) in response.json()["detail"]
        assert (await recipients(client, world, campaign["id"]))["items"] == []


class TestSelectAllWithPhoneIsWhoWhatsAppReaches:
    async def test_select_all_with_phone_adds_no_one_whatsapp_skips(
        self, client: AsyncClient, world: World, jules: User
    ) -> None:
        campaign = await create_messaging_campaign(client, world, channels=["whatsapp"])
        listed = await list_customers(client, world, filter_by="has_phone")
        response = await add(
            client, world, campaign["id"], {"select_all": {"filter_by": "has_phone"}}
        )
        assert response.status_code == 200, response.text
        assert response.json()["added"] == listed["pagination"]["total_count"] == 3
        added = by_name(await recipients(client, world, campaign["id"]))
        assert sorted(added) == names(listed)
        statuses = {n: [d["status"] for d in r["deliveries"]] for n, r in added.items()}
        assert statuses == {n: ["pending"] for n in names(listed)}


class TestTheCustomerList:
    async def test_an_invalid_number_is_said_so_and_a_valid_one_masked(
        self, client: AsyncClient, world: World
    ) -> None:
        items = {c["name"]: c for c in (await list_customers(client, world))["items"]}
        assert items["Hugo Henry"]["phone"] is None
        assert items["Hugo Henry"]["phone_invalid"] is True
        assert items["Alice Arnaud"]["phone"] == "••••••5678"
        assert items["Alice Arnaud"]["phone_invalid"] is False
        assert items["Bruno Bernard"]["phone"] is None
        assert items["Bruno Bernard"]["phone_invalid"] is False

    async def test_each_customer_lists_the_chosen_places_where_they_booked(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        both = await create_customer(
            session, first_name="Kim", last_name="Khan", booked_at=[world.paris, world.london]
        )
        items = {c["name"]: c for c in (await list_customers(client, world))["items"]}
        assert [p["name"] for p in items["Kim Khan"]["places"]] == ["Salon London", "Salon Paris"]
        assert [p["name"] for p in items["Bruno Bernard"]["places"]] == ["Salon London"]
        # Gina also booked at the rival's place, which is not the owner's to show.
        assert [p["id"] for p in items["Gina Garcia"]["places"]] == [world.paris.id]
        only_paris = await client.get(
            URL, params={"place_ids": [world.paris.id], "search": "khan"}, headers=world.headers
        )
        assert [p["name"] for p in only_paris.json()["items"][0]["places"]] == ["Salon Paris"]
        assert both.id == only_paris.json()["items"][0]["user_id"]


# The migration recomputes what is already there -------------------------------------------

BEFORE = "ld1b2c3d4e5"
AFTER = "rc0a1b2c3d4e"


async def _flags(url: str) -> dict[str, Any]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT u.first_name, a.whatsapp_ok FROM marketing_audience a "
                    "JOIN users u ON u.id = a.user_id ORDER BY 1"
                )
            )
        ).all()
        counts = (
            await conn.execute(
                text(
                    "SELECT whatsapp_ok, sum(count)::int FROM marketing_audience_counts "
                    "WHERE count <> 0 GROUP BY 1 ORDER BY 1"
                )
            )
        ).all()
    await engine.dispose()
    return {"rows": dict(rows), "counts": dict(counts)}


class TestTheMigration:
    async def test_existing_rows_and_counts_are_recomputed_both_ways(
        self, database_at: DatabaseAt
    ) -> None:
        fresh_database = await database_at(BEFORE)
        engine = create_async_engine(fresh_database)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    """
                    WITH o AS (INSERT INTO users (email, first_name, last_name, role,
                                                  gdpr_marketing_consent)
                               VALUES ('o@example.com', 'Owner', 'O', 'business_owner', false)
                               RETURNING id),
                         p AS (INSERT INTO places (owner_id, name, timezone, country_code)
                               SELECT id, 'Salon', 'Europe/Paris', 'FR' FROM o RETURNING id),
                         c AS (INSERT INTO users (email, first_name, last_name, phone,
                                                  phone_e164, role, gdpr_marketing_consent)
                               VALUES (NULL, 'Valid', 'V', '06 12 34 56 78', '+33612345678',
                                       'customer', true),
                                      (NULL, 'Invalid', 'I', '12', NULL, 'customer', true)
                               RETURNING id)
                    INSERT INTO bookings (place_id, user_id, starts_at, status)
                    SELECT p.id, c.id, now(), 'completed' FROM p, c
                    """
                )
            )
        await engine.dispose()
        assert await _flags(fresh_database) == {
            "rows": {"Invalid": True, "Valid": True},
            "counts": {True: 2},
        }
        await asyncio.to_thread(command.upgrade, alembic_config(fresh_database), AFTER)
        assert await _flags(fresh_database) == {
            "rows": {"Invalid": False, "Valid": True},
            "counts": {False: 1, True: 1},
        }
        await asyncio.to_thread(command.downgrade, alembic_config(fresh_database), BEFORE)
        assert (await _flags(fresh_database))["rows"] == {"Invalid": True, "Valid": True}
