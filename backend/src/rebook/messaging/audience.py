"""Who an owner may message: the one place that decides it, used when customers are listed,
when they are added as recipients, and again just before each message is sent.

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
    Boolean,
    ColumnElement,
    Integer,
    Text,
    and_,
    column,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY

from rebook.models import Booking, Channel, EmailSuppression, MarketingSuppression, User


class CustomerFilter(enum.StrEnum):
    all = "all"
    has_email = "has_email"
    has_phone = "has_phone"


# Literal predicates (not bind parameters) so the planner can use the partial indexes whose
# WHERE clauses say exactly this, even with generic prepared-statement plans.
IS_MARKETABLE_CUSTOMER = and_(
    literal_column("users.gdpr_marketing_consent"), literal_column("users.role = 'customer'")
)


# Each owner's booked customers with the flags the rules above need, kept exact by triggers
# (migration 2026-11-24-1330): counting an owner's audience reads this instead of joining
# users, bookings and suppressions. It mirrors the rules; `eligible` stays their definition.
marketing_audience = table(
    "marketing_audience",
    column("owner_id", Integer),
    column("user_id", Integer),
    column("marketable", Boolean),
    column("email_ok", Boolean),
    column("whatsapp_ok", Boolean),
    column("search_text", Text),
    column("place_ids", ARRAY(Integer)),
)
# Its rows counted per owner and combination of flags (trigger-kept, exact).
marketing_audience_counts = table(
    "marketing_audience_counts",
    column("owner_id", Integer),
    column("marketable", Boolean),
    column("email_ok", Boolean),
    column("whatsapp_ok", Boolean),
    column("count", Integer),
)


def suppressed(owner_id: Any, channel: Channel) -> ColumnElement[bool]:
    return exists(
        select(literal_column("1")).where(
            MarketingSuppression.user_id == User.id,
            MarketingSuppression.owner_id == owner_id,
            MarketingSuppression.channel == channel.value,
        )
    )


def address_suppressed() -> ColumnElement[bool]:
    """The customer's email address bounced: no owner mails it."""
    return exists(
        select(literal_column("1")).where(EmailSuppression.address == func.lower(User.email))
    )


def reachable_by_email(owner_id: Any) -> ColumnElement[bool]:
    return and_(
        User.email.is_not(None), ~suppressed(owner_id, Channel.email), ~address_suppressed()
    )


def reachable_by_whatsapp(owner_id: Any) -> ColumnElement[bool]:
    """A valid number (phone_e164, read with rebook.customers.phones) they did not opt out
    of: a number Twilio would refuse is no way to reach them."""
    return and_(User.phone_e164.is_not(None), ~suppressed(owner_id, Channel.whatsapp))


def booked_at(place_ids: Sequence[int]) -> ColumnElement[bool]:
    return exists(
        select(literal_column("1")).where(
            Booking.user_id == User.id, Booking.place_id.in_(place_ids)
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
    if filter_by == CustomerFilter.has_email:
        reach: ColumnElement[bool] = reachable_by_email(owner_id)
    elif filter_by == CustomerFilter.has_phone:
        reach = reachable_by_whatsapp(owner_id)
    else:
        reach = or_(reachable_by_email(owner_id), reachable_by_whatsapp(owner_id))
    return and_(IS_MARKETABLE_CUSTOMER, booked_at(place_ids), reach, search_condition(search))


def audience_reach(filter_by: CustomerFilter, flags: Any = None) -> ColumnElement[bool]:
    """`eligible`'s reachability test, on marketing_audience (or its counts' columns)."""
    a = marketing_audience.c if flags is None else flags
    if filter_by == CustomerFilter.has_email:
        return a.email_ok
    if filter_by == CustomerFilter.has_phone:
        return a.whatsapp_ok
    return or_(a.email_ok, a.whatsapp_ok)
