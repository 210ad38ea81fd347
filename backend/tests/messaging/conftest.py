"""A small world: an owner with two places (FR, GB), a rival owner, and customers with every
mix of consent, contact data and places that matters for who may be messaged."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from alembic import command
from httpx import AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from rebook.migrations import alembic_config
from rebook.models import MarketingSuppression, Place, User
from tests.factories import auth_headers, create_customer, create_owner, create_place

BASE = "/api/v1/owner/campaigns"


@dataclass
class World:
    owner: User
    rival: User
    paris: Place
    london: Place
    rival_place: Place
    alice: User  # consent, email + FR phone, booked Paris twice
    bruno: User  # consent, email only, booked London
    chloe: User  # consent, phone only (local GB format), booked London
    denis: User  # NO consent, booked Paris
    emma: User  # consent, booked Paris, unsubscribed from the owner's emails (phone too)
    fabien: User  # consent, booked only at the rival's place
    gina: User  # consent, booked at both owners' places
    hugo: User  # consent, email, unreadable phone, booked Paris
    ines: User  # consent, email only, unsubscribed from email: unreachable

    @property
    def headers(self) -> dict[str, str]:
        return auth_headers(self.owner)


@pytest.fixture
async def world(session: AsyncSession) -> World:
    owner, rival = await create_owner(session), await create_owner(session)
    paris = await create_place(session, owner, name="Salon Paris", country_code="FR")
    london = await create_place(
        session, owner, name="Salon London", country_code="GB", timezone="Europe/London"
    )
    rival_place = await create_place(session, rival, name="Rival Spa")
    alice = await create_customer(
        session,
        first_name="Alice",
        last_name="Arnaud",
        phone="06 12 34 56 78",
        booked_at=[paris],
        bookings_each=2,
    )
    bruno = await create_customer(
        session, first_name="Bruno", last_name="Bernard", booked_at=[london]
    )
    chloe = await create_customer(
        session,
        first_name="Chloe",
        last_name="Clark",
        email=None,
        phone="07911 123456",
        booked_at=[london],
    )
    denis = await create_customer(
        session, first_name="Denis", last_name="Dupont", consent=False, booked_at=[paris]
    )
    emma = await create_customer(
        session, first_name="Emma", last_name="Evans", phone="06 98 76 54 32", booked_at=[paris]
    )
    fabien = await create_customer(
        session, first_name="Fabien", last_name="Faure", booked_at=[rival_place]
    )
    gina = await create_customer(
        session, first_name="Gina", last_name="Garcia", booked_at=[paris, rival_place]
    )
    hugo = await create_customer(
        session, first_name="Hugo", last_name="Henry", phone="12", booked_at=[paris]
    )
    ines = await create_customer(session, first_name="Ines", last_name="Ibert", booked_at=[paris])
    session.add_all(
        [
            MarketingSuppression(
                owner_id=owner.id, user_id=emma.id, channel="email", source="one_click"
            ),
            MarketingSuppression(
                owner_id=owner.id, user_id=ines.id, channel="email", source="one_click"
            ),
            # Gina opted out of the rival only: the owner may still message her.
            MarketingSuppression(
                owner_id=rival.id, user_id=gina.id, channel="email", source="one_click"
            ),
        ]
    )
    await session.commit()
    return World(
        owner,
        rival,
        paris,
        london,
        rival_place,
        alice,
        bruno,
        chloe,
        denis,
        emma,
        fabien,
        gina,
        hugo,
        ines,
    )


def messaging_payload(place_ids: list[int], **config: Any) -> dict[str, Any]:
    messaging_config = {
        "channels": ["email", "whatsapp"],
        "email_subject": "Hello {{ first_name }}",
        "email_body": "<p>See you soon at {{ place_name }}!</p>",
        "whatsapp_message": "Hi {{ first_name }}, 20% off at {{ place_name }} this week.",
        **config,
    }
    return {
        "name": "Come back soon",
        "campaign_type": "messaging",
        "place_ids": place_ids,
        "messaging_config": messaging_config,
    }


async def create_messaging_campaign(
    client: AsyncClient, world: World, place_ids: list[int] | None = None, **config: Any
) -> dict[str, Any]:
    ids = place_ids or [world.paris.id, world.london.id]
    response = await client.post(BASE, json=messaging_payload(ids, **config), headers=world.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


DatabaseAt = Callable[[str], Awaitable[str]]


@pytest.fixture
async def database_at(database_url: str) -> AsyncIterator[DatabaseAt]:
    """Makes databases of their own, migrated up to a revision (for testing a migration on
    rows that were there before it); dropped at the end."""
    server = make_url(database_url)
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    async def make(revision: str) -> str:
        name = f"rebook_at_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        names.append(name)
        url = server.set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(command.upgrade, alembic_config(url), revision)
        return url

    try:
        yield make
    finally:
        async with admin.connect() as conn:
            for name in names:
                await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()
