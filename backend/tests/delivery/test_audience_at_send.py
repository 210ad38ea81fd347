"""A campaign's audience at send: its definition is checked again, and consent withdrawn
since the selection keeps the customer out (ADR 021)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from rebook.config import get_settings
from rebook.db import get_sessionmaker
from rebook.messaging import flow
from rebook.models import Booking, User
from tests.delivery.conftest import BASE, Shop, deliveries, drain
from tests.factories import create_customer, create_owner, create_place

pytestmark = pytest.mark.usefixtures("committed", "smtp_backend")


async def lapsed_shop() -> Shop:
    """Four customers last seen 100 days ago, one seen last week."""
    async with get_sessionmaker()() as session:
        owner = await create_owner(session)
        paris = await create_place(session, owner, name="Salon Paris")
        people = [await create_customer(session, first_name=n) for n in ("Ann", "Ben", "Cy", "Dee")]
        recent = await create_customer(session, first_name="Eve")
        now = datetime.now(UTC)
        for person in people:
            session.add(
                Booking(place_id=paris.id, user_id=person.id, starts_at=now - timedelta(100))
            )
        session.add(Booking(place_id=paris.id, user_id=recent.id, starts_at=now - timedelta(7)))
        await session.commit()
    return Shop(owner, paris, [*people, recent])


async def test_the_send_checks_the_audience_and_consent_again(
    api: AsyncClient,
) -> None:
    shop = await lapsed_shop()
    ben, cy = shop.customers[1], shop.customers[2]
    saved = await api.post(
        "/api/v1/owner/audiences",
        json={"name": "Lapsed", "filters": {"no_visit_within_days": 90}},
        headers=shop.headers,
    )
    assert saved.status_code == 201, saved.text
    created = await api.post(
        BASE,
        json={
            "name": "Winback",
            "campaign_type": "messaging",
            "place_ids": [shop.paris.id],
            "messaging_config": {
                "channels": ["email"],
                "email_subject": "We miss you",
                "email_body": "<p>Come back, {{ first_name }}!</p>",
            },
        },
        headers=shop.headers,
    )
    campaign = created.json()
    added = await api.post(
        f"{BASE}/{campaign['id']}/recipients",
        json={"select_all": {}, "saved_audience_id": saved.json()["id"]},
        headers=shop.headers,
    )
    assert added.json()["added"] == 4  # not Eve, seen last week
    # Eve picked by hand on top: the owner's own choice, which the check at send leaves be.
    eve = shop.customers[4]
    picked = await api.post(
        f"{BASE}/{campaign['id']}/recipients", json={"user_ids": [eve.id]}, headers=shop.headers
    )
    assert picked.json()["added"] == 1

    # After the selection: Ben withdraws consent, Cy comes back (no longer lapsed).
    async with get_sessionmaker()() as session:
        await session.execute(
            update(User).where(User.id == ben.id).values(gdpr_marketing_consent=False)
        )
        session.add(Booking(place_id=shop.paris.id, user_id=cy.id, starts_at=datetime.now(UTC)))
        await session.commit()

    sent = await api.post(
        f"{BASE}/{campaign['id']}/send", params={"send_immediately": "true"}, headers=shop.headers
    )
    assert sent.status_code == 200, sent.text
    await flow.start_campaign(campaign["id"], get_settings())
    await drain()

    outcome = {
        d["name"].split()[0]: (d["status"], d["error_code"])
        for d in await deliveries(api, shop, campaign["id"])
    }
    assert outcome == {
        "Ann": ("sent", None),
        "Ben": ("skipped", "no_consent"),
        "Cy": ("skipped", "no_longer_matches"),
        "Dee": ("sent", None),
        "Eve": ("sent", None),
    }
    recorded = (await api.get(f"{BASE}/{campaign['id']}", headers=shop.headers)).json()
    assert recorded["audience"] == {
        "filters": {"no_visit_within_days": 90},
        "saved_audience_id": saved.json()["id"],
        "name": "Lapsed",
        "picked_user_ids": [eve.id],
    }
