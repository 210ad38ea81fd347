from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class Service(TimestampMixin, Base):
    """What an owner's places sell ("Cut & blow-dry" in "Hair"); a booking names one."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100))
