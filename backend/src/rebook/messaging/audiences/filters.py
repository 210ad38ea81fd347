"""The audience filters as SQL over booking_history, and the reason each customer matches.

Each filter is written once, here, over the columns of booking_history (trigger-kept per
owner and customer, see rebook.models.booking_history). `condition` takes the row to read
(the table itself, or an alias joined to users or marketing_audience), so the list, its count,
"select all matching" and the check at send all apply the same rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    and_,
    cast,
    exists,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Integer, Interval, String

from rebook.messaging.audiences.schemas import AudienceFilters, NoShows
from rebook.models import BookingHistory, User

OVERDUE_MIN_VISITS = 3


def condition(filters: AudienceFilters, now: datetime, h: Any = None) -> ColumnElement[bool]:
    """WHERE clause over a booking_history row `h` (default the table) for these filters."""
    c = (BookingHistory.__table__ if h is None else h).c
    parts: list[ColumnElement[bool]] = []
    if filters.last_visit_before is not None:
        parts.append(c.last_visit_at < filters.last_visit_before)
    if filters.last_visit_after is not None:
        parts.append(c.last_visit_at >= filters.last_visit_after)
    if filters.last_visit_within_days is not None:
        parts.append(c.last_visit_at >= now - timedelta(days=filters.last_visit_within_days))
    if filters.no_visit_within_days is not None:
        parts.append(c.last_visit_at < now - timedelta(days=filters.no_visit_within_days))
    if filters.min_visits is not None:
        parts.append(c.completed_visits >= filters.min_visits)
    if filters.max_visits is not None:
        parts.append(c.completed_visits <= filters.max_visits)
    if filters.has_upcoming is True:
        parts.append(c.last_upcoming_at > now)
    elif filters.has_upcoming is False:
        parts.append(or_(c.last_upcoming_at.is_(None), c.last_upcoming_at <= now))
    if filters.service_ids:
        wanted = cast(sorted(set(filters.service_ids)), ARRAY(Integer))
        parts.append(c.service_ids.overlap(wanted))
    if filters.categories:
        parts.append(c.categories.overlap(cast(sorted(set(filters.categories)), ARRAY(String))))
    if filters.visited_place_ids:
        wanted = cast(sorted(set(filters.visited_place_ids)), ARRAY(Integer))
        parts.append(c.place_ids.overlap(wanted))
    if filters.min_spend is not None:
        parts.append(c.spend_amount >= filters.min_spend)
    if filters.first_time is True:
        parts.append(c.completed_visits == 1)
    elif filters.first_time is False:
        parts.append(c.completed_visits > 1)
    if filters.overdue is not None:
        overdue = and_(
            c.completed_visits >= OVERDUE_MIN_VISITS,
            c.usual_interval > timedelta(0),
            c.last_visit_at
            < literal(now, DateTime(timezone=True))
            - c.usual_interval.op("*", return_type=Interval())(filters.overdue_factor),
        )
        parts.append(overdue if filters.overdue else ~overdue)
    if filters.no_shows == NoShows.exclude:
        parts.append(c.no_shows == 0)
    elif filters.no_shows == NoShows.only:
        parts.append(c.no_shows > 0)
    return and_(true(), *parts)


def users_matching(owner_id: Any, filters: AudienceFilters, now: datetime) -> ColumnElement[bool]:
    """WHERE clause over `users`: the customer's history with this owner meets the filters."""
    h = BookingHistory.__table__.alias("history")
    return exists(
        select(literal_column("1")).where(
            h.c.owner_id == owner_id, h.c.user_id == User.id, condition(filters, now, h)
        )
    )


def is_overdue(
    completed_visits: int,
    last_visit_at: datetime | None,
    usual_interval: timedelta | None,
    now: datetime,
    factor: float,
) -> bool:
    """The overdue rule in Python, for the reason shown beside a customer (and its tests)."""
    if completed_visits < OVERDUE_MIN_VISITS or last_visit_at is None or not usual_interval:
        return False
    return now - last_visit_at > usual_interval * factor


def _days(delta: timedelta) -> int:
    return max(0, delta.days)


def _span(delta: timedelta) -> str:
    """'9 weeks' from 14 days on, else days: how owners speak of a rhythm."""
    days = _days(delta)
    if days >= 14:
        weeks = round(days / 7)
        return f"{weeks} weeks"
    return "1 day" if days == 1 else f"{days} days"


def _money(amount: int, currency: str | None) -> str:
    value = f"{amount / 100:,.2f}"
    return f"{value} {currency}" if currency else value


@dataclass(frozen=True)
class Names:
    """The names of the services and places that filters name (the owner's), for the reasons."""

    services: Mapping[int, str] = field(default_factory=dict)
    places: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Booked:
    """What a customer's booking_history row keeps of what they booked and where they went."""

    service_ids: Sequence[int] = ()
    categories: Sequence[str] = ()
    place_ids: Sequence[int] = ()


def _among(
    wanted: Sequence[Any] | None, have: Sequence[Any], names: Mapping[Any, str] | None = None
) -> str:
    """What the filter wants that the customer has, by name (`names`; None: the values are
    names), in alphabetical order."""
    found = set(wanted or ()) & set(have)
    shown = set(found) if names is None else {names[x] for x in found if x in names}
    return ", ".join(sorted(shown, key=lambda n: (n.lower(), n)))


def reasons(
    filters: AudienceFilters,
    history: Any,
    now: datetime,
    currency: str | None = None,
    booked: Booked | None = None,
    names: Names | None = None,
) -> list[str]:
    """Why this customer matches the filters, in the owner's words ("last visit 97 days ago",
    "usually every 5 weeks — 9 weeks now", "booked Balayage", "visited Le Marais").
    `history` is a messaging CustomerHistory."""
    booked, names = booked or Booked(), names or Names()
    out: list[str] = []
    last = history.last_visit_at
    if last is not None and (
        filters.last_visit_before
        or filters.last_visit_after
        or filters.last_visit_within_days
        or filters.no_visit_within_days
    ):
        days = _days(now - last)
        out.append("last visit today" if days == 0 else f"last visit {days} days ago")
    if filters.overdue and history.usual_interval_days and last is not None:
        usual = timedelta(days=history.usual_interval_days)
        out.append(f"usually every {_span(usual)} — {_span(now - last)} now")
    if filters.min_visits is not None or filters.max_visits is not None or filters.first_time:
        n = history.completed_visits
        out.append("1 visit" if n == 1 else f"{n} visits")
    if filters.has_upcoming is True and history.last_upcoming_at is not None:
        out.append(f"booked for {history.last_upcoming_at:%d %b %Y}")
    elif filters.has_upcoming is False:
        out.append("nothing booked")
    if services := _among(filters.service_ids, booked.service_ids, names.services):
        out.append(f"booked {services}")
    if categories := _among(filters.categories, booked.categories):
        out.append(f"booked {categories}")
    if places := _among(filters.visited_place_ids, booked.place_ids, names.places):
        out.append(f"visited {places}")
    if filters.min_spend is not None:
        out.append(f"spent {_money(history.spend_amount, currency)}")
    if filters.no_shows == NoShows.only:
        n = history.no_shows
        out.append("1 no-show" if n == 1 else f"{n} no-shows")
    elif filters.no_shows == NoShows.exclude:
        out.append("no no-shows")
    return out
