from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base


class MarketingAudience(Base):
    """Each owner's booked customers with what eligibility needs, recomputed by database
    triggers from users, bookings, places and marketing_suppressions (see the migration).
    Read-only for the application: it makes the customer list's counts cheap."""

    __tablename__ = "marketing_audience"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    marketable: Mapped[bool] = mapped_column(Boolean)
    email_ok: Mapped[bool] = mapped_column(Boolean)
    whatsapp_ok: Mapped[bool] = mapped_column(Boolean)
    search_text: Mapped[str] = mapped_column(Text)
    place_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class MarketingAudienceCount(Base):
    """Rows of marketing_audience per owner and flags, kept by triggers. Read-only."""

    __tablename__ = "marketing_audience_counts"

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    marketable: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    email_ok: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    whatsapp_ok: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, server_default="0")
