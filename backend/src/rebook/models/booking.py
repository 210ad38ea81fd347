from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class BookingStatus(enum.StrEnum):
    completed = "completed"
    cancelled = "cancelled"
    no_show = "no_show"
    # Booked and not yet settled by the host platform. It counts as "upcoming" for the
    # audience filters only while starts_at is in the future (a stale one is neither a visit
    # nor an upcoming booking).
    upcoming = "upcoming"


class Booking(TimestampMixin, Base):
    __tablename__ = "bookings"
    __table_args__ = (
        # Per customer, latest first with the place (ix_bookings_user_latest_first, made by
        # migration 2026-12-04-1030: its DESC key is SQL): "has this customer booked at one of
        # these places?", their latest booking there, per-customer aggregates.
        Index("ix_bookings_place_user", "place_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # One of BookingStatus (a CHECK constraint holds the list).
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.completed.value)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), default=None
    )
    # In the currency's minor units (cents); both set or both NULL.
    price_amount: Mapped[int | None] = mapped_column(Integer, default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
