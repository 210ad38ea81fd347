"""Deliverability tests that run the real worker and `rebook bounces` share the delivery
tests' committed data and fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiosmtplib
import pytest
from httpx import AsyncClient

from rebook.config import get_settings
from rebook.db import get_sessionmaker
from rebook.deliverability.receiver import start
from rebook.models import Booking, User
from tests.delivery.conftest import (  # noqa: F401 - fixtures used here
    BASE,
    Shop,
    api,
    committed,
    delivery_env,
    smtp_backend,
    twilio_backend,
)
from tests.factories import auth_headers, create_owner, create_place
from tests.fakes.net import free_port

BOUNCE_DOMAIN = "bounces.rebook.example"


@pytest.fixture
def bounce_env(smtp_backend: Any, delivery_env: pytest.MonkeyPatch) -> Any:  # noqa: F811
    delivery_env.setenv("BOUNCE_DOMAIN", BOUNCE_DOMAIN)
    get_settings.cache_clear()
    return smtp_backend


@pytest.fixture
async def receiver(bounce_env: Any) -> AsyncIterator[int]:
    """`rebook bounces` on a local port, in the test's event loop."""
    port = free_port()
    server = await start(get_settings(), "127.0.0.1", port)
    yield port
    server.close()
    await server.wait_closed()


async def mail(port: int, rcpt: str, data: bytes, sender: str = "MAILER-DAEMON@mx.example") -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        await client.sendmail(sender, [rcpt], data)


async def another_owner_of(customer: User) -> tuple[User, dict[str, str], int]:
    """A second owner at whose place `customer` also booked; their headers and place id."""
    async with get_sessionmaker()() as session:
        owner = await create_owner(session)
        place = await create_place(session, owner, name="Studio Lyon")
        session.add(Booking(place_id=place.id, user_id=customer.id, starts_at=owner.created_at))
        await session.commit()
    return owner, auth_headers(owner), place.id


async def listed_emails(client: AsyncClient, headers: dict[str, str], place_id: int) -> set[str]:
    """The customers an owner's customer list offers for email."""
    response = await client.get(
        f"{BASE}/messaging/customers",
        params={"place_ids": place_id, "filter_by": "has_email", "limit": 100},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return {c["email"] for c in response.json()["items"]}


def shop_emails(shop: Shop) -> set[str]:
    return {str(c.email) for c in shop.customers}
