"""Deterministic demo data: two owners (to show isolation), their places, ~300 customers with a
realistic mix of consent and contact data, two years of bookings (with their services,
prices and the rhythms of real customers: regulars, lapsed ones, one-visit ones, no-shows),
and one finished campaign with the outcomes a real one has (sent, delivered, read, failed
with reasons, skipped, one customer who unsubscribed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.auth.passwords import hash_password
from rebook.campaigns import service as campaigns_service
from rebook.campaigns.schemas import CampaignCreate
from rebook.customers.phones import to_e164
from rebook.messaging import recipient_selection
from rebook.messaging.audience import CustomerFilter
from rebook.messaging.schemas import MessagingConfig
from rebook.models import (
    Booking,
    CampaignDelivery,
    CampaignRecipient,
    CampaignStatus,
    CampaignType,
    Channel,
    DeliveryStatus,
    MarketingSuppression,
    Place,
    Service,
    User,
    UserRole,
)
from rebook.request_context import Origin

DEMO_OWNER_EMAIL = "demo@rebook.test"
OTHER_OWNER_EMAIL = "other@rebook.test"
DEMO_PASSWORD = "rebook-demo"

FIRST_NAMES = [
    "Emma",
    "Louis",
    "Chloé",
    "Hugo",
    "Léa",
    "Oliver",
    "Amelia",
    "Harry",
    "Isla",
    "Jack",
    "Sofia",
    "Mateo",
    "Mia",
    "Liam",
    "Ava",
    "Noah",
    "Hannah",
    "Felix",
    "Lena",
    "Jonas",
    "Zoé",
    "Arthur",
    "Grace",
    "Ethan",
    "Nora",
    "Lucas",
    "Maya",
    "Theo",
    "Ella",
    "Sami",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Garcia",
    "Rossi",
    "Müller",
    "Schmidt",
    "Fischer",
    "Johnson",
    "Williams",
    "Davis",
    "Moreau",
    "Laurent",
    "Evans",
    "Walker",
    "Nguyen",
    "Kowalski",
    "O'Brien",
    "Silva",
    "Khan",
    "Cohen",
]

DEMO_PLACES = [
    ("Studio Lumière", "Europe/Paris", "FR"),
    ("Glow Salon Shoreditch", "Europe/London", "GB"),
    ("Bella Cucina Brooklyn", "America/New_York", "US"),
]
OTHER_PLACES = [("Barbershop Kreuzberg", "Europe/Berlin", "DE")]


def _phone(rng: random.Random, country: str) -> str:
    """A phone number as a customer might type it: local or international format."""
    international = rng.random() < 0.4
    if country == "FR":
        digits = f"6{rng.randint(10_000_000, 99_999_999)}"
        spaced = " ".join([digits[0], *[digits[i : i + 2] for i in range(1, 9, 2)]])
        return f"+33 {spaced}" if international else f"0{spaced}"
    if country == "GB":
        digits = f"79{rng.randint(11_000_000, 99_999_999)}"
        return f"+44 {digits[:4]} {digits[4:]}" if international else f"0{digits[:4]} {digits[4:]}"
    if country == "US":
        area, mid, end = (
            rng.choice(["212", "718", "917"]),
            rng.randint(200, 999),
            rng.randint(0, 9999),
        )
        return f"+1 {area}-{mid}-{end:04d}" if international else f"({area}) {mid}-{end:04d}"
    digits = f"151{rng.randint(10_000_000, 99_999_999)}"
    return f"+49 {digits}" if international else f"0{digits}"


async def seed_demo(session: AsyncSession, *, customers: int = 300) -> bool:
    """Load the demo data into an empty database; returns False if users already exist."""
    if await session.scalar(select(func.count()).select_from(User)):
        return False
    rng = random.Random(20261124)
    password_hash = hash_password(DEMO_PASSWORD)
    demo = User(
        email=DEMO_OWNER_EMAIL,
        first_name="Dana",
        last_name="Demo",
        role=UserRole.business_owner,
        password_hash=password_hash,
    )
    other = User(
        email=OTHER_OWNER_EMAIL,
        first_name="Otto",
        last_name="Other",
        role=UserRole.business_owner,
        password_hash=password_hash,
    )
    session.add_all([demo, other])
    await session.flush()
    demo_places = [
        Place(owner_id=demo.id, name=n, timezone=tz, country_code=cc) for n, tz, cc in DEMO_PLACES
    ]
    other_places = [
        Place(owner_id=other.id, name=n, timezone=tz, country_code=cc) for n, tz, cc in OTHER_PLACES
    ]
    session.add_all(demo_places + other_places)
    await session.flush()

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    user_rows = []
    homes: list[list[Place]] = []
    for i in range(customers):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        # ~10 % only booked with the other owner, ~10 % with both, the rest with the demo owner.
        roll = rng.random()
        if roll < 0.10:
            places = list(other_places)
        elif roll < 0.20:
            places = [rng.choice(demo_places), *other_places]
        else:
            places = rng.sample(demo_places, k=rng.choice([1, 1, 1, 2, 3]))
        country = places[0].country_code
        phone = _phone(rng, country) if rng.random() < 0.8 else None
        if phone and rng.random() < 0.03:
            phone = phone[:5]  # mistyped: kept, but cannot receive WhatsApp
        consent = rng.random() < 0.7
        has_email = rng.random() < 0.9
        user_rows.append(
            {
                "email": f"{first}.{last}.{i}@example.com".lower().replace("'", "")
                if has_email
                else None,
                "first_name": first,
                "last_name": last,
                "phone": phone,
                "phone_e164": to_e164(phone, country),
                "role": UserRole.customer,
                "gdpr_marketing_consent": consent,
                "gdpr_marketing_consent_at": now - timedelta(days=rng.randint(1, 700))
                if consent
                else None,
                "gdpr_consent_source": rng.choice(["booking_form", "app_signup", "in_store"])
                if consent
                else None,
            }
        )
        homes.append(places)
    user_ids = (await session.scalars(insert(User).returning(User.id), user_rows)).all()

    menus = {
        owner.id: await _services(session, owner.id, menu)
        for owner, menu in ((demo, DEMO_SERVICES), (other, OTHER_SERVICES))
    }
    booking_rows = []
    for user_id, places in zip(user_ids, homes, strict=True):
        for place, starts_at, status in _history(rng, places, now):
            service, price = rng.choice(menus[place.owner_id])
            booking_rows.append(
                {
                    "place_id": place.id,
                    "user_id": user_id,
                    "starts_at": starts_at,
                    "status": status,
                    "service_id": service,
                    "price_amount": price,
                    "currency": CURRENCIES[place.country_code],
                }
            )
    await session.execute(insert(Booking), booking_rows)
    await session.flush()
    await _finished_campaign(session, demo, demo_places[1], now - timedelta(days=3), rng)
    return True


# (name, category, price in minor units) of what each owner's places sell.
DEMO_SERVICES = [
    ("Cut & blow-dry", "Hair", 4500),
    ("Colour", "Hair", 8500),
    ("Beard trim", "Hair", 2000),
    ("Manicure", "Nails", 3000),
    ("Facial", "Skin", 6000),
    ("Dinner for two", "Restaurant", 7200),
]
OTHER_SERVICES = [("Skin fade", "Hair", 2800), ("Hot towel shave", "Hair", 2500)]
CURRENCIES = {"FR": "EUR", "GB": "GBP", "US": "USD", "DE": "EUR"}


async def _services(
    session: AsyncSession, owner_id: int, menu: list[tuple[str, str, int]]
) -> list[tuple[int, int]]:
    """The owner's services; returns (service id, price) pairs."""
    ids = (
        await session.scalars(
            insert(Service).returning(Service.id),
            [{"owner_id": owner_id, "name": n, "category": c} for n, c, _ in menu],
        )
    ).all()
    return [(i, price) for i, (_, _, price) in zip(ids, menu, strict=True)]


def _history(
    rng: random.Random, places: list[Place], now: datetime
) -> list[tuple[Place, datetime, str]]:
    """One customer's bookings over two years, in one of the rhythms real books show:
    regulars every 4-8 weeks (some with their next visit booked), regulars who stopped coming,
    one-visit customers, occasional ones and newcomers; a few no-shows and cancellations."""
    kind = rng.random()
    visits: list[datetime] = []
    upcoming: list[datetime] = []
    if kind < 0.45:  # regulars: every 4-8 weeks, give or take a few days; 30 % lapsed
        every = timedelta(weeks=rng.randint(4, 8))
        stopped = now - timedelta(days=rng.randint(100, 400)) if rng.random() < 0.3 else now
        at = now - timedelta(days=rng.randint(300, 730))
        while at < stopped - timedelta(days=1):
            visits.append(at)
            at += every + timedelta(days=rng.randint(-4, 4))
        if stopped == now and rng.random() < 0.5:
            upcoming.append(now + timedelta(days=rng.randint(1, 30)))
    elif kind < 0.75:  # one visit only
        visits.append(now - timedelta(days=rng.randint(1, 730)))
    elif kind < 0.92:  # occasional
        visits.extend(now - timedelta(days=rng.randint(1, 730)) for _ in range(rng.randint(2, 4)))
    else:  # newcomers: a first visit in the last month, or only booked so far
        if rng.random() < 0.6:
            visits.append(now - timedelta(days=rng.randint(1, 30)))
        upcoming.append(now + timedelta(days=rng.randint(1, 21)))
    bookings = []
    for at in visits:
        roll = rng.random()
        status = "no_show" if roll < 0.04 else "cancelled" if roll < 0.07 else "completed"
        bookings.append((rng.choice(places), at + timedelta(hours=rng.randint(9, 18)), status))
    bookings.extend((rng.choice(places), at, "upcoming") for at in upcoming)
    return bookings


# Failures as providers report them: (error code, message).
EMAIL_FAILURES = [
    ("550", "550 5.1.1 The email account that you tried to reach does not exist."),
    ("552", "552 5.2.2 The recipient's mailbox is full."),
]
WHATSAPP_FAILURES = [
    ("63024", "Invalid message recipient: the number is not on WhatsApp."),
    ("63016", "Failed to send freeform message outside the 24-hour window; use a template."),
]


async def _finished_campaign(
    session: AsyncSession, owner: User, place: Place, sent_at: datetime, rng: random.Random
) -> None:
    """A campaign sent three days ago, so a new owner sees what results look like."""
    campaign = await campaigns_service.create_campaign(
        session,
        owner,
        CampaignCreate(
            name="Autumn welcome back",
            description="Sent to everyone at Shoreditch; shows what a finished campaign reports.",
            campaign_type=CampaignType.messaging,
            place_ids=[place.id],
            messaging_config=MessagingConfig(
                channels=["email", "whatsapp"],
                email_subject="We saved you a chair, {{ first_name }}",
                email_body="<p>Hello {{ first_name }},</p><p>Autumn is here and so are we: "
                "15 % off your next visit at {{ place_name }} until the end of the month.</p>",
                whatsapp_message="Hi {{ first_name }}! 15 % off your next visit at "
                "{{ place_name }} this month. Reply STOP to opt out.",
                send_immediately=True,
            ),
        ),
        Origin(),
    )
    await recipient_selection.add_matching(session, campaign, CustomerFilter.all, None, [])
    await recipient_selection.prepare_deliveries(session, campaign)
    await session.flush()
    deliveries = (
        await session.execute(
            select(CampaignDelivery.id, CampaignDelivery.channel, CampaignDelivery.recipient_id)
            .where(
                CampaignDelivery.campaign_id == campaign.id,
                CampaignDelivery.status == DeliveryStatus.pending,
            )
            .order_by(CampaignDelivery.id)
        )
    ).all()
    for index, (delivery_id, channel, _) in enumerate(deliveries):
        email = channel == Channel.email
        failures = EMAIL_FAILURES if email else WHATSAPP_FAILURES
        values: dict[str, object] = {"attempts": 1, "sent_at": sent_at}
        if index % 23 == 5:
            code, message = failures[index % 2]
            values |= {"status": DeliveryStatus.failed.value, "error_code": code}
            values |= {"error_message": message, "sent_at": None}
        else:
            roll = rng.random()
            provider_status = "read" if not email and roll < 0.6 else "delivered"
            values |= {
                "status": DeliveryStatus.sent.value,
                "provider_status": provider_status,
                "provider_message_id": f"demo-{delivery_id}",
                "cost": Decimal("0") if email else Decimal("0.0050"),
            }
        await session.execute(
            update(CampaignDelivery).where(CampaignDelivery.id == delivery_id).values(**values)
        )
    # One customer used the unsubscribe link in the email.
    unsubscribed = next((r for _, c, r in deliveries if c == Channel.email), None)
    if unsubscribed is not None:
        user_id = await session.scalar(
            select(CampaignRecipient.user_id).where(CampaignRecipient.id == unsubscribed)
        )
        session.add(
            MarketingSuppression(
                owner_id=owner.id, user_id=user_id, channel="email", source="unsubscribe_link"
            )
        )
    campaign.status = CampaignStatus.sent
    await session.flush()
    await audit.record(
        session,
        "campaign.sent",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details={"channels": ["email", "whatsapp"], "demo": True},
    )
