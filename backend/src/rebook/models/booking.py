from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class Booking(TimestampMixin, Base):
    __tablename__ = "bookings"
    __table_args__ = (
        # "Has this customer booked at one of these places?" and per-customer aggregates.
        Index("ix_bookings_user_place_starts", "user_id", "place_id", "starts_at"),
        Index("ix_bookings_place_user", "place_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="completed")
