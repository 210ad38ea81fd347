from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class Place(TimestampMixin, Base):
    """A salon, studio or restaurant owned by a business owner."""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # ISO 3166-1 alpha-2; the region used to read phone numbers written without a country code.
    country_code: Mapped[str] = mapped_column(String(2))
    # Where customers' replies to its emails go (Reply-To); None: no Reply-To.
    reply_to_email: Mapped[str | None] = mapped_column(String(254))
