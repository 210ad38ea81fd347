"""marketing_audience, kept by triggers for counting, is a cache of who may be messaged: it
must say what `rebook.messaging.audience` (the one definition) says, for every owner and
customer, however the rows that decide it change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.messaging import audience
from rebook.models import (
    Booking,
    Channel,
    EmailSuppression,
    MarketingAudience,
    MarketingAudienceCount,
    MarketingSuppression,
    Place,
    User,
    UserRole,
)
from tests.factories import create_customer, create_owner, create_place

Rows = set[tuple[int, int, bool, bool, bool, tuple[int, ...]]]


async def by_the_definition(session: AsyncSession, owners: list[User]) -> Rows:
    """(owner, customer, marketable, email ok, WhatsApp ok, places booked) for every
    customer who booked at one of the owner's places, by the rules themselves."""
    found: Rows = set()
    for owner in owners:
        place_ids = list(await session.scalars(select(Place.id).where(Place.owner_id == owner.id)))
        booked = (
            select(func.array_agg(func.distinct(Booking.place_id)))
            .where(Booking.user_id == User.id, Booking.place_id.in_(place_ids))
            .scalar_subquery()
        )
        rows = await session.execute(
            select(
                User.id,
                audience.IS_MARKETABLE_CUSTOMER,
                audience.reachable_by_email(owner.id),
                audience.reachable_by_whatsapp(owner.id),
                booked,
            ).where(audience.booked_at(place_ids))
        )
        found |= {
            (owner.id, user_id, m, e, w, tuple(sorted(places))) for user_id, m, e, w, places in rows
        }
    return found


async def in_the_cache(session: AsyncSession, owners: list[User]) -> Rows:
    a = MarketingAudience
    rows = await session.execute(
        select(a.owner_id, a.user_id, a.marketable, a.email_ok, a.whatsapp_ok, a.place_ids).where(
            a.owner_id.in_([o.id for o in owners])
        )
    )
    return {(o, u, m, e, w, tuple(sorted(p))) for o, u, m, e, w, p in rows}


async def counted(session: AsyncSession, owners: list[User]) -> dict[Any, int]:
    c = MarketingAudienceCount
    rows = await session.execute(
        select(c.owner_id, c.marketable, c.email_ok, c.whatsapp_ok, c.count).where(
            c.owner_id.in_([o.id for o in owners]), c.count > 0
        )
    )
    return {(o, m, e, w): n for o, m, e, w, n in rows}


def counts_of(rows: Rows) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for owner_id, _, m, e, w, _ in rows:
        counts[(owner_id, m, e, w)] = counts.get((owner_id, m, e, w), 0) + 1
    return counts


async def assert_cache_agrees(session: AsyncSession, owners: list[User]) -> Rows:
    await session.flush()
    truth = await by_the_definition(session, owners)
    assert await in_the_cache(session, owners) == truth
    assert await counted(session, owners) == counts_of(truth)
    return truth


async def test_the_cache_says_what_the_rules_say(session: AsyncSession) -> None:
    owner, other = await create_owner(session), await create_owner(session)
    salon, studio = await create_place(session, owner), await create_place(session, owner)
    elsewhere = await create_place(session, other)
    everywhere = await create_customer(
        session, phone="+33612345678", booked_at=[salon, studio, elsewhere]
    )
    no_consent = await create_customer(session, consent=False, booked_at=[salon])
    email_only = await create_customer(session, booked_at=[studio])
    bad_number = await create_customer(session, email=None, phone="12", booked_at=[salon])
    unsubscribed_here = await create_customer(
        session, email="Mixed.Case@Example.com", phone="+33612345679", booked_at=[salon, elsewhere]
    )
    bounced = await create_customer(session, email="gone@example.com", booked_at=[salon])
    opted_out_of_whatsapp = await create_customer(session, phone="+33612345670", booked_at=[salon])
    await create_customer(session, booked_at=[elsewhere])  # the other owner's only
    await create_customer(session, booked_at=[])  # nobody's
    staff = await create_customer(session, booked_at=[salon])
    staff.role = UserRole.business_owner
    session.add_all(
        [
            MarketingSuppression(
                owner_id=owner.id, user_id=unsubscribed_here.id, channel="email", source="test"
            ),
            MarketingSuppression(
                owner_id=owner.id,
                user_id=opted_out_of_whatsapp.id,
                channel=Channel.whatsapp.value,
                source="test",
            ),
            EmailSuppression(address="gone@example.com", reason="bounced", source="test"),
        ]
    )
    owners = [owner, other]
    truth = await assert_cache_agrees(session, owners)
    # Every rule says no to someone here, and yes to someone.
    for flag in (2, 3, 4):
        assert {row[flag] for row in truth} == {True, False}

    # What decides it changes: consent given and withdrawn, an opt-out lifted, a number
    # corrected and one made invalid, a booking cancelled, a place handed to another owner.
    no_consent.gdpr_marketing_consent = True
    everywhere.gdpr_marketing_consent = False
    await session.execute(
        delete(MarketingSuppression).where(MarketingSuppression.user_id == unsubscribed_here.id)
    )
    await session.execute(
        update(User).where(User.id == bad_number.id).values(phone_e164="+33612345671")
    )
    await session.execute(update(User).where(User.id == email_only.id).values(email=None))
    await session.execute(
        delete(Booking).where(Booking.user_id == bounced.id, Booking.place_id == salon.id)
    )
    studio.owner_id = other.id
    await assert_cache_agrees(session, owners)
