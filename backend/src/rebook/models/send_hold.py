from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class SendHold(TimestampMixin, Base):
    """An owner's emails held because their complaint rate passed the limit; only the
    operator lifts it (`rebook lift-hold`). At most one open hold per owner."""

    __tablename__ = "send_holds"
    __table_args__ = (
        Index(
            "uq_send_holds_open_owner",
            "owner_id",
            unique=True,
            postgresql_where=text("lifted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    complaint_rate: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    complaints: Mapped[int] = mapped_column(Integer)
    emails: Mapped[int] = mapped_column(Integer)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lift_reason: Mapped[str | None] = mapped_column(Text)
