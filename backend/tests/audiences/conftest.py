"""Hand-built booking histories at a fixed clock: an owner with two places, a rival owner,
and customers whose visits, no-shows, services and spend are known to the day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import Booking, MarketingSuppression, Place, Service, User
from rebook.request_context import utc_now
from tests.factories import auth_headers, create_customer, create_owner, create_place

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@dataclass
class History:
    owner: User
    rival: User
    paris: Place
    london: Place
    rival_place: Place
    cut: Service
    colour: Service
    rival_cut: Service
    people: dict[str, User] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return auth_headers(self.owner)

    def ids(self, *names: str) -> set[int]:
        return {self.people[n].id for n in names}


async def book(
    session: AsyncSession,
    user: User,
    place: Place,
    days_ago: float,
    status: str = "completed",
    service: Service | None = None,
    price: int | None = None,
) -> None:
    session.add(
        Booking(
            place_id=place.id,
            user_id=user.id,
            starts_at=ago(days_ago),
            status=status,
            service_id=service.id if service else None,
            price_amount=price,
            currency="EUR" if price is not None else None,
        )
    )


@pytest.fixture
def clock(app: FastAPI) -> datetime:
    app.dependency_overrides[utc_now] = lambda: NOW
    return NOW


@pytest.fixture
async def history(session: AsyncSession, clock: datetime) -> History:
    owner, rival = await create_owner(session), await create_owner(session)
    paris = await create_place(session, owner, name="Salon Paris")
    london = await create_place(session, owner, name="Salon London", country_code="GB")
    rival_place = await create_place(session, rival, name="Rival Spa")
    cut = Service(owner_id=owner.id, name="Cut", category="Hair")
    colour = Service(owner_id=owner.id, name="Colour", category="Colour")
    rival_cut = Service(owner_id=rival.id, name="Cut", category="Hair")
    session.add_all([cut, colour, rival_cut])
    await session.flush()
    h = History(owner, rival, paris, london, rival_place, cut, colour, rival_cut)

    async def person(name: str, consent: bool = True) -> User:
        user = await create_customer(session, first_name=name, last_name=name, consent=consent)
        h.people[name] = user
        return user

    # Regular every 35 days, last 40 days ago: not overdue (40 <= 52.5).
    reg = await person("regular")
    for d in (40, 75, 110, 145):
        await book(session, reg, paris, d, service=cut, price=4500)
    # Regular every 28 days, last 100 days ago: overdue (100 > 42); lapsed over 90 days.
    lapsed = await person("lapsed")
    for d in (100, 128, 156, 184):
        await book(session, lapsed, paris, d, service=colour, price=9000)
    # Two visits only, long ago: not a regular, so never overdue.
    twice = await person("twice")
    for d in (200, 400):
        await book(session, twice, london, d, service=cut, price=4500)
    # One visit 120 days ago, then a no-show; an upcoming booking.
    once = await person("once")
    await book(session, once, london, 120, service=cut, price=4500)
    await book(session, once, london, 60, status="no_show", service=cut)
    await book(session, once, paris, -10, status="upcoming", service=colour)
    # Only booked at the rival's place, long ago: never the owner's customer.
    foreign = await person("foreign")
    for d in (100, 130, 160, 190):
        await book(session, foreign, rival_place, d, service=rival_cut, price=99000)
    # The owner's big spender, visited 5 days ago; also the rival's customer.
    big = await person("big")
    for d in (5, 30, 65):
        await book(session, big, london, d, service=colour, price=30000)
    await book(session, big, rival_place, 400)
    # Cancelled only: booked with the owner but never visited.
    cancelled = await person("cancelled")
    await book(session, cancelled, paris, 150, status="cancelled", service=cut)
    # A stale "upcoming" booking in the past: neither a visit nor upcoming.
    stale = await person("stale")
    await book(session, stale, paris, 95, service=cut, price=4500)
    await book(session, stale, paris, 3, status="upcoming", service=cut)
    # Overdue but no consent: never listed.
    no_consent = await person("noconsent", consent=False)
    for d in (100, 128, 156):
        await book(session, no_consent, paris, d)
    # Overdue but unsubscribed from the owner's emails (its only channel).
    unsub = await person("unsub")
    for d in (100, 128, 156):
        await book(session, unsub, paris, d)
    session.add(
        MarketingSuppression(
            owner_id=owner.id, user_id=unsub.id, channel="email", source="unsubscribe_link"
        )
    )
    await session.commit()  # a savepoint: see tests/conftest.py
    return h
