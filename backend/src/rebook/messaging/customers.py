"""The eligible-customer list of the customer selector: one page in name order, each customer
once, with their last booking and booking count at the chosen places."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.customers.phones import mask
from rebook.db import plan_for_these_values
from rebook.errors import InvalidInput
from rebook.inputs import parse_id, unstorable
from rebook.messaging.audience import (
    CustomerFilter,
    audience_reach,
    eligible,
    marketing_audience,
    marketing_audience_counts,
    search_condition,
)
from rebook.messaging.audiences import filters as audience_filters
from rebook.messaging.audiences.schemas import AudienceFilters
from rebook.messaging.schemas import CustomerForMessaging, CustomerHistory, CustomerPlace
from rebook.models import Booking, BookingHistory, Place, User

SORT_KEY = (User.last_name, User.first_name, User.id)
CUSTOMER_COLUMNS = (
    User.id,
    User.first_name,
    User.last_name,
    User.email,
    User.phone,
    User.phone_e164,
    User.gdpr_marketing_consent,
)
NO_FILTERS = AudienceFilters()
# booking_history's columns shown beside each customer (and read for the reasons).
HISTORY_COLUMNS = (
    "last_visit_at",
    "completed_visits",
    "no_shows",
    "spend_amount",
    "usual_interval",
    "last_upcoming_at",
)
# What booking_history keeps of what was booked and where (read for the reasons only).
BOOKED_COLUMNS = ("service_ids", "categories", "place_ids")


def encode_cursor(last_name: str, first_name: str, user_id: int) -> str:
    raw = json.dumps([last_name, first_name, user_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, int]:
    try:
        last_name, first_name, user_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        if not isinstance(last_name, str) or not isinstance(first_name, str):
            raise ValueError("names are text")
        if unstorable(last_name) or unstorable(first_name):
            raise ValueError("names PostgreSQL can compare")
        return last_name, first_name, parse_id(user_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor: this is not a cursor returned by the previous page.") from exc


def page_statement(
    owner_id: int,
    place_ids: Sequence[int],
    filter_by: CustomerFilter,
    search: str | None,
    *,
    limit: int,
    offset: int = 0,
    cursor: str | None = None,
    history: AudienceFilters | None = None,
    now: datetime | None = None,
) -> Select[Any]:
    """One page of eligible customers in name order, with their bookings at these places and
    their booking history with the owner (which `history`'s filters, if any, must match)."""
    stats = (
        select(
            func.max(Booking.starts_at).label("last_booking_date"),
            func.count().label("total_bookings"),
            func.array_agg(Booking.place_id.distinct()).label("place_ids"),
        )
        .where(Booking.user_id == User.id, Booking.place_id.in_(place_ids))
        .lateral("stats")
    )
    h = BookingHistory.__table__.alias("history")
    # The columns a customer's line shows, not whole users (no ORM objects to build).
    page = (
        select(
            *CUSTOMER_COLUMNS,
            stats.c.last_booking_date,
            stats.c.total_bookings,
            stats.c.place_ids,
            *[h.c[name].label(f"h_{name}") for name in HISTORY_COLUMNS + BOOKED_COLUMNS],
        )
        .select_from(User)
        .join(stats, stats.c.total_bookings >= 0)
        .outerjoin(h, (h.c.owner_id == owner_id) & (h.c.user_id == User.id))
        .where(eligible(owner_id, place_ids, filter_by, search))
        .order_by(*SORT_KEY)
        .limit(limit)
    )
    if history is not None and not history.is_empty():
        page = page.where(audience_filters.condition(history, _now(now), h))
    if cursor:
        return page.where(tuple_(*SORT_KEY) > tuple_(*decode_cursor(cursor)))
    return page.offset(offset)


def count_statement(
    owner_id: int,
    place_ids: Sequence[int],
    filter_by: CustomerFilter,
    search: str | None,
    *,
    all_places: bool,
    history: AudienceFilters | None = None,
    now: datetime | None = None,
) -> Select[Any]:
    """How many customers `eligible` selects, counted from marketing_audience (one row per
    owner and booked customer, flags and search text kept by triggers): the same rules without
    joining every booking. With all the owner's places "booked at one of them" is the row
    itself, and without a search the rows are already counted per combination of flags
    (marketing_audience_counts); with some places, the row's place_ids must overlap them.
    Booking-history filters read booking_history, which carries the same flags and places
    (kept by triggers): alone, or joined on the key when there is a search."""
    filtered = history is not None and not history.is_empty()
    searched = bool(search and search.strip())
    if all_places and not searched and not filtered:
        counts = marketing_audience_counts.c
        return select(func.coalesce(func.sum(counts.count), 0)).where(
            counts.owner_id == owner_id, counts.marketable, audience_reach(filter_by, counts)
        )
    if filtered and not searched:
        # booking_history carries marketing_audience's flags and places: one table to scan.
        assert history is not None
        h = BookingHistory.__table__.alias("history")
        statement = (
            select(func.count())
            .select_from(h)
            .where(
                h.c.owner_id == owner_id,
                h.c.marketable,
                audience_reach(filter_by, h.c),
                audience_filters.condition(history, _now(now), h),
            )
        )
        if not all_places:
            statement = statement.where(h.c.booked_place_ids.overlap(sorted(set(place_ids))))
        return statement
    a = marketing_audience.c
    statement = (
        select(func.count())
        .select_from(marketing_audience)
        .where(a.owner_id == owner_id, a.marketable, audience_reach(filter_by))
    )
    if not all_places:
        # place_ids lists the owner's places where the customer booked (GIN-indexed).
        statement = statement.where(a.place_ids.overlap(sorted(set(place_ids))))
    if searched:
        # The same match on marketing_audience's copy of users.search_text (trigram-indexed).
        statement = statement.where(search_condition(search, a.search_text))
    if filtered:
        assert history is not None
        h = BookingHistory.__table__.alias("history")
        statement = statement.join(
            h, (h.c.owner_id == a.owner_id) & (h.c.user_id == a.user_id)
        ).where(audience_filters.condition(history, _now(now), h))
    return statement


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


async def are_all_places(session: AsyncSession, owner_id: int, place_ids: Sequence[int]) -> bool:
    """Whether these places (the owner's) are all the owner's places."""
    owned = await session.scalar(
        select(func.count()).select_from(Place).where(Place.owner_id == owner_id)
    )
    return len(set(place_ids)) == owned


async def count_eligible(
    session: AsyncSession,
    owner_id: int,
    place_ids: Sequence[int],
    filter_by: CustomerFilter,
    search: str | None,
    history: AudienceFilters | None = None,
    now: datetime | None = None,
    all_places: bool | None = None,
) -> int:
    """The exact number of customers `eligible` selects (`place_ids` are the owner's) whose
    booking history matches `history`. `all_places`: whether `place_ids` are all the
    owner's places, when the caller knows (else counted here)."""
    if all_places is None:
        all_places = await are_all_places(session, owner_id, place_ids)
    statement = count_statement(
        owner_id, place_ids, filter_by, search, all_places=all_places, history=history, now=now
    )
    return int(await session.scalar(statement) or 0)


async def list_eligible(
    session: AsyncSession,
    owner_id: int,
    places: Sequence[Place],
    filter_by: CustomerFilter,
    search: str | None,
    *,
    limit: int,
    offset: int = 0,
    cursor: str | None = None,
    history: AudienceFilters | None = None,
    now: datetime | None = None,
    names: audience_filters.Names | None = None,
) -> tuple[list[CustomerForMessaging], int, str | None]:
    """One page (by offset, or after `cursor` for deep pages), the total, and the next cursor;
    each customer with their booking history and, under filters, why they match. `places`
    are the owner's chosen places, already loaded; `names` those of the services and places
    the filters name (from audiences' check_filters)."""
    now = _now(now)
    await plan_for_these_values(session)
    place_ids = [p.id for p in places]
    page = page_statement(
        owner_id,
        place_ids,
        filter_by,
        search,
        limit=limit,
        offset=offset,
        cursor=cursor,
        history=history,
        now=now,
    )
    rows = (await session.execute(page)).all()
    total = await count_eligible(
        session, owner_id, place_ids, filter_by, search, history=history, now=now
    )

    place_names = {p.id: p.name for p in places}
    items = [_to_customer(row, place_names, history or NO_FILTERS, now, names) for row in rows]
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1]
        next_cursor = encode_cursor(last.last_name, last.first_name, last.id)
    return items, total, next_cursor


def _history(row: Any) -> CustomerHistory | None:
    m = {name: row._mapping[f"h_{name}"] for name in HISTORY_COLUMNS}
    if m["completed_visits"] is None:
        return None
    interval = m.pop("usual_interval")
    return CustomerHistory(
        **m,
        usual_interval_days=round(interval.total_seconds() / 86400, 1) if interval else None,
    )


def _to_customer(
    row: Any,
    place_names: dict[int, str],
    filters: AudienceFilters,
    now: datetime,
    names: audience_filters.Names | None,
) -> CustomerForMessaging:
    """A row of page_statement as the selector shows it."""
    history = _history(row)
    what = audience_filters.Booked(
        **{name: row._mapping[f"h_{name}"] or () for name in BOOKED_COLUMNS}
    )
    booked = [
        CustomerPlace(id=i, name=place_names[i]) for i in row.place_ids or [] if i in place_names
    ]
    return CustomerForMessaging(
        user_id=row.id,
        name=f"{row.first_name} {row.last_name}".strip(),
        email=row.email,
        phone=mask(row.phone) if row.phone_e164 else None,
        phone_invalid=bool(row.phone) and row.phone_e164 is None,
        gdpr_marketing_consent=row.gdpr_marketing_consent,
        places=sorted(booked, key=lambda p: (p.name.lower(), p.id)),
        last_booking_date=row.last_booking_date,
        total_bookings=row.total_bookings,
        history=history,
        reasons=(
            audience_filters.reasons(filters, history, now, booked=what, names=names)
            if history
            else []
        ),
    )
