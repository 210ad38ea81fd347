"""Plain async factories for test data, written through the ORM."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.auth.passwords import hash_password
from rebook.auth.tokens import create_access_token
from rebook.config import get_settings
from rebook.customers.phones import to_e164
from rebook.models import Booking, Place, User, UserRole

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


async def create_owner(session: AsyncSession, *, password: str | None = None) -> User:
    n = next(_seq)
    owner = User(
        email=f"owner{n}@example.com",
        first_name="Olivia",
        last_name=f"Owner{n}",
        role=UserRole.business_owner,
        password_hash=hash_password(password) if password else None,
    )
    session.add(owner)
    await session.commit()  # a savepoint: see conftest
    return owner


async def create_place(
    session: AsyncSession,
    owner: User,
    *,
    name: str | None = None,
    country_code: str = "FR",
    timezone: str = "Europe/Paris",
) -> Place:
    place = Place(
        owner_id=owner.id,
        name=name or f"Place {next(_seq)}",
        country_code=country_code,
        timezone=timezone,
    )
    session.add(place)
    await session.commit()  # a savepoint: see conftest
    return place


async def create_customer(
    session: AsyncSession,
    *,
    first_name: str = "Camille",
    last_name: str | None = None,
    email: str | None = "",
    phone: str | None = None,
    consent: bool = True,
    booked_at: list[Place] | None = None,
    bookings_each: int = 1,
) -> User:
    n = next(_seq)
    customer = User(
        email=f"customer{n}@example.com" if email == "" else email,
        first_name=first_name,
        last_name=last_name if last_name is not None else f"Client{n:05d}",
        phone=phone,
        phone_e164=to_e164(phone, booked_at[0].country_code if booked_at else None),
        role=UserRole.customer,
        gdpr_marketing_consent=consent,
        gdpr_marketing_consent_at=datetime.now(UTC) if consent else None,
    )
    session.add(customer)
    await session.flush()
    for place in booked_at or []:
        for i in range(bookings_each):
            session.add(
                Booking(
                    place_id=place.id,
                    user_id=customer.id,
                    starts_at=datetime.now(UTC) - timedelta(days=30 * (i + 1)),
                )
            )
    await session.commit()  # a savepoint: see conftest
    return customer


def auth_headers(user: User) -> dict[str, str]:
    # The identity survives a rolled-back request that expired the object's attributes.
    user_id = inspect(user).identity[0]
    return {"Authorization": f"Bearer {create_access_token(user_id, get_settings())}"}
