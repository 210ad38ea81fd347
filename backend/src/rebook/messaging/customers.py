"""The eligible-customer list of the customer selector: one page in name order, each customer
once, with their last booking and booking count at the chosen places."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.customers.phones import mask
from rebook.errors import InvalidInput
from rebook.messaging.audience import CustomerFilter, eligible
from rebook.messaging.schemas import CustomerForMessaging
from rebook.models import Booking, User

SORT_KEY = (User.last_name, User.first_name, User.id)


def encode_cursor(last_name: str, first_name: str, user_id: int) -> str:
    raw = json.dumps([last_name, first_name, user_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, int]:
    try:
        last_name, first_name, user_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        return str(last_name), str(first_name), int(user_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor: this is not a cursor returned by the previous page.") from exc


async def list_eligible(
    session: AsyncSession,
    owner_id: int,
    place_ids: Sequence[int],
    filter_by: CustomerFilter,
    search: str | None,
    *,
    limit: int,
    offset: int = 0,
    cursor: str | None = None,
) -> tuple[list[CustomerForMessaging], int, str | None]:
    """One page (by offset, or after `cursor` for deep pages), the total, and the next cursor."""
    where = eligible(owner_id, place_ids, filter_by, search)
    stats = (
        select(
            func.max(Booking.starts_at).label("last_booking_date"),
            func.count().label("total_bookings"),
        )
        .where(Booking.user_id == User.id, Booking.place_id.in_(place_ids))
        .lateral("stats")
    )
    page = (
        select(User, stats.c.last_booking_date, stats.c.total_bookings)
        .join(stats, stats.c.total_bookings >= 0)
        .where(where)
        .order_by(*SORT_KEY)
        .limit(limit)
    )
    if cursor:
        page = page.where(tuple_(*SORT_KEY) > tuple_(*decode_cursor(cursor)))
    else:
        page = page.offset(offset)
    rows = (await session.execute(page)).all()
    total = await session.scalar(select(func.count()).select_from(User).where(where)) or 0

    items = [_to_customer(user, last, count) for user, last, count in rows]
    next_cursor = None
    if len(rows) == limit:
        last_user = rows[-1][0]
        next_cursor = encode_cursor(last_user.last_name, last_user.first_name, last_user.id)
    return items, total, next_cursor


def _to_customer(user: User, last_booking: datetime | None, count: int) -> CustomerForMessaging:
    return CustomerForMessaging(
        user_id=user.id,
        name=user.full_name,
        email=user.email,
        phone=mask(user.phone),
        gdpr_marketing_consent=user.gdpr_marketing_consent,
        last_booking_date=last_booking,
        total_bookings=count,
    )
