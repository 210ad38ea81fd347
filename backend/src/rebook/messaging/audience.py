"""Who an owner may message: the one place that decides it, used when customers are listed,
when they are added as recipients, and again just before each message is sent (the worker's
claim, `rebook.messaging.dispatch.CLAIM`, is built from the parts below, rendered as SQL).

A customer is eligible for an owner's places when they are a customer, gave marketing consent,
booked at one of those places, and can be reached on at least one channel they have not
unsubscribed from with this owner (nor, for email, whose address bounced: see
rebook.deliverability)."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.sql.elements import ClauseElement

from rebook.models import (
    Booking,
    Channel,
    EmailSuppression,
    MarketingAudience,
    MarketingAudienceCount,
    MarketingSuppression,
    User,
)


class CustomerFilter(enum.StrEnum):
    all = "all"
    has_email = "has_email"
    has_phone = "has_phone"


def marketable(users: str = "users") -> ColumnElement[bool]:
    """A customer who gave marketing consent, on the `users` row named `users`. Literal
    predicates (not bind parameters) so the planner can use the partial indexes whose WHERE
    clauses say exactly this, even with generic prepared-statement plans."""
    return and_(
        literal_column(f"{users}.gdpr_marketing_consent"),
        literal_column(f"{users}.role = 'customer'"),
    )


IS_MARKETABLE_CUSTOMER = marketable()


# Each owner's booked customers with the flags the rules above need, kept exact by triggers
# (migration 2026-11-24-1330): counting an owner's audience reads this instead of joining
# users, bookings and suppressions. It is a cache of the rules (tests/messaging/
# test_audience_cache.py compares it with them); `eligible` stays their definition.
marketing_audience = MarketingAudience.__table__
# Its rows counted per owner and combination of flags (trigger-kept, exact).
marketing_audience_counts = MarketingAudienceCount.__table__


def suppressed(owner_id: Any, channel: Any, user_id: Any = User.id) -> ColumnElement[bool]:
    """The customer unsubscribed from this owner's messages on `channel` (a Channel, or a
    column holding one)."""
    return exists(
        select(literal_column("1")).where(
            MarketingSuppression.user_id == user_id,
            MarketingSuppression.owner_id == owner_id,
            MarketingSuppression.channel
            == (channel.value if isinstance(channel, Channel) else channel),
        )
    )


def address_suppressed(email: Any = User.email) -> ColumnElement[bool]:
    """The customer's email address bounced: no owner mails it."""
    return exists(select(literal_column("1")).where(EmailSuppression.address == func.lower(email)))


def reachable_by_email(owner_id: Any) -> ColumnElement[bool]:
    return and_(
        User.email.is_not(None), ~suppressed(owner_id, Channel.email), ~address_suppressed()
    )


def reachable_by_whatsapp(owner_id: Any) -> ColumnElement[bool]:
    """A valid number (phone_e164, read with rebook.customers.phones) they did not opt out
    of: a number Twilio would refuse is no way to reach them."""
    return and_(User.phone_e164.is_not(None), ~suppressed(owner_id, Channel.whatsapp))


def booked_at(place_ids: Sequence[int] | Any, user_id: Any = User.id) -> ColumnElement[bool]:
    """The customer booked at one of these places (ids, or a subquery of them)."""
    return exists(
        select(literal_column("1")).where(
            Booking.user_id == user_id, Booking.place_id.in_(place_ids)
        )
    )


_PHONE_LIKE = re.compile(r"^[\d\s+().-]+$")


def search_condition(
    search: str | None, search_text: ColumnElement[str] | None = None
) -> ColumnElement[bool]:
    """Case- and accent-insensitive fragment match on names, email and phone digits
    (users.search_text, trigram-indexed; or its copy in marketing_audience). The term is
    folded by the same search_fold() as the text, so "muller" finds Müller and back."""
    term = (search or "").strip().lower()
    if not term:
        return true()
    if _PHONE_LIKE.match(term) and any(c.isdigit() for c in term):
        term = re.sub(r"\D", "", term)
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    column_ = User.search_text if search_text is None else search_text
    return column_.like(func.search_fold(f"%{escaped}%"), escape="\\")


def eligible(
    owner_id: Any,
    place_ids: Sequence[int],
    filter_by: CustomerFilter = CustomerFilter.all,
    search: str | None = None,
) -> ColumnElement[bool]:
    """WHERE clause over `users` selecting the customers this owner may message at these
    places (which the caller has already checked are the owner's)."""
    return and_(booked_at(place_ids), eligible_once_booked(owner_id, filter_by, search))


def eligible_once_booked(
    owner_id: Any, filter_by: CustomerFilter = CustomerFilter.all, search: str | None = None
) -> ColumnElement[bool]:
    """`eligible` but for its "booked at these places" part: for a statement whose rows
    already are customers joined to a booking at the places (that join is `booked_at`)."""
    if filter_by == CustomerFilter.has_email:
        reach: ColumnElement[bool] = reachable_by_email(owner_id)
    elif filter_by == CustomerFilter.has_phone:
        reach = reachable_by_whatsapp(owner_id)
    else:
        reach = or_(reachable_by_email(owner_id), reachable_by_whatsapp(owner_id))
    return and_(IS_MARKETABLE_CUSTOMER, reach, search_condition(search))


def audience_reach(filter_by: CustomerFilter, flags: Any = None) -> ColumnElement[bool]:
    """`eligible`'s reachability test, on marketing_audience (or its counts' columns)."""
    a = marketing_audience.c if flags is None else flags
    if filter_by == CustomerFilter.has_email:
        return a.email_ok
    if filter_by == CustomerFilter.has_phone:
        return a.whatsapp_ok
    return or_(a.email_ok, a.whatsapp_ok)


def as_sql(rule: ClauseElement) -> str:
    """A rule above as PostgreSQL text, for a statement written in SQL (the worker's claim);
    the columns it tests are then `literal_column`s naming that statement's aliases."""
    dialect = PGDialect()  # type: ignore[no-untyped-call]
    return str(rule.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
