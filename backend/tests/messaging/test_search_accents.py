"""The customer search ignores accents, both ways: "muller" finds Müller and "müller" finds
Muller, in the list, its counts and select-all."""

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
from tests.messaging.test_customers import list_customers, names
from tests.messaging.test_recipients import add, by_name, recipients


@pytest.fixture
async def accented(session: AsyncSession, world: World) -> None:
    for first, last, email in (
        ("Jürgen", "Müller", None),
        ("Hans", "Muller", None),
        ("Zoë", "Straße", None),
        ("Anaïs", "Lefèvre", "anaïs@café.example"),
        ("Søren", "Kierkegård", None),
        ("Łucja", "Ærøskøbing", None),
    ):
        await create_customer(
            session,
            first_name=first,
            last_name=last,
            email=email if email else "",
            booked_at=[world.paris],
        )


def total(body: dict[str, Any]) -> int:
    count: int = body["pagination"]["total_count"]
    return count


@pytest.mark.usefixtures("accented")
class TestAccentsAreIgnored:
    async def test_muller_finds_mueller_and_back(self, client: AsyncClient, world: World) -> None:
        for term in ("muller", "müller", "MÜLLER", "Muller"):
            body = await list_customers(client, world, search=term)
            assert names(body) == ["Hans Muller", "Jürgen Müller"], term
            assert total(body) == 2, term

    async def test_the_count_with_some_places_agrees(
        self, client: AsyncClient, world: World
    ) -> None:
        body = await list_customers(client, world, [world.paris.id], search="jurgen")
        assert names(body) == ["Jürgen Müller"]
        assert total(body) == 1

    @pytest.mark.parametrize(
        ("term", "found"),
        [
            ("strasse", "Zoë Straße"),
            ("zoe", "Zoë Straße"),
            ("lefevre", "Anaïs Lefèvre"),
            ("anais@cafe", "Anaïs Lefèvre"),
            ("soren kierkegard", "Søren Kierkegård"),
            ("lucja aeroskobing", "Łucja Ærøskøbing"),
            ("ŁUCJA", "Łucja Ærøskøbing"),
        ],
    )
    async def test_other_accented_letters(
        self, client: AsyncClient, world: World, term: str, found: str
    ) -> None:
        assert names(await list_customers(client, world, search=term)) == [found]

    async def test_select_all_matching_an_unaccented_term_adds_the_accented_names(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await add(
            client, world, campaign["id"], {"select_all": {"filter_by": "all", "search": "muller"}}
        )
        assert response.json()["added"] == 2
        assert sorted(by_name(await recipients(client, world, campaign["id"]))) == [
            "Hans Muller",
            "Jürgen Müller",
        ]

    async def test_a_renamed_customer_is_found_by_the_new_name_unaccented(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        await session.execute(
            update(User).where(User.id == world.bruno.id).values(last_name="Bérénger")
        )
        await session.commit()
        # The list (users) and the count (marketing_audience's copy) both see it.
        body = await list_customers(client, world, search="berenger")
        assert names(body) == ["Bruno Bérénger"]
        assert total(body) == 1


class TestTheMigration:
    async def test_existing_rows_are_folded_and_unfolded(self, database_at: DatabaseAt) -> None:
        url = await database_at("rc0a1b2c3d4e")
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    """
                    WITH o AS (INSERT INTO users (email, first_name, last_name, role,
                                                  gdpr_marketing_consent)
                               VALUES ('o@example.com', 'Owner', 'O', 'business_owner', false)
                               RETURNING id),
                         p AS (INSERT INTO places (owner_id, name, timezone, country_code)
                               SELECT id, 'Salon', 'Europe/Berlin', 'DE' FROM o RETURNING id),
                         c AS (INSERT INTO users (email, first_name, last_name, role,
                                                  gdpr_marketing_consent)
                               VALUES ('J@Example.com', 'Jürgen', 'Müller', 'customer', true)
                               RETURNING id)
                    INSERT INTO bookings (place_id, user_id, starts_at, status)
                    SELECT p.id, c.id, now(), 'completed' FROM p, c
                    """
                )
            )

        async def texts() -> list[str]:
            async with engine.connect() as conn:
                return list(
                    (
                        await conn.execute(
                            text(
                                "SELECT u.search_text || ' | ' || a.search_text "
                                "FROM users u JOIN marketing_audience a ON a.user_id = u.id"
                            )
                        )
                    ).scalars()
                )

        assert await texts() == ["jürgen müller j@example.com  | jürgen müller j@example.com "]
        await engine.dispose()
        await asyncio.to_thread(command.upgrade, alembic_config(url), "rc1a1b2c3d4e")
        assert await texts() == ["jurgen muller j@example.com  | jurgen muller j@example.com "]
        await engine.dispose()
        await asyncio.to_thread(command.downgrade, alembic_config(url), "rc0a1b2c3d4e")
        assert await texts() == ["jürgen müller j@example.com  | jürgen müller j@example.com "]
        await engine.dispose()
