from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, Interval, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base


class BookingHistory(Base):
    """Per owner and customer, their bookings at the owner's places summed up; recomputed by
    database triggers from bookings (migration 2026-12-03-1200). Read-only for the
    application: the audience filters read it instead of every booking."""

    __tablename__ = "booking_history"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Completed bookings are the visits.
    first_visit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_visit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_visits: Mapped[int] = mapped_column(Integer)
    no_shows: Mapped[int] = mapped_column(Integer)
    # Sum of the completed visits' prices, in minor units.
    spend_amount: Mapped[int] = mapped_column(BigInteger)
    # Median gap between consecutive completed visits (ADR 020); NULL below two visits.
    usual_interval: Mapped[timedelta | None] = mapped_column(Interval)
    # The latest booking with status `upcoming` (upcoming while it is in the future).
    last_upcoming_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Services and categories of completed and upcoming bookings; places of completed ones.
    service_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    categories: Mapped[list[str]] = mapped_column(ARRAY(String))
    place_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    # Copies of marketing_audience's row (migration 2026-12-03-1300), so a filtered count
    # reads one table: marketable, email_ok, whatsapp_ok, and its place_ids (any booking).
    marketable: Mapped[bool] = mapped_column(Boolean)
    email_ok: Mapped[bool] = mapped_column(Boolean)
    whatsapp_ok: Mapped[bool] = mapped_column(Boolean)
    booked_place_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer))
