from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class MarketingSuppression(TimestampMixin, Base):
    """A customer's opt-out from one owner's messages on one channel."""

    __tablename__ = "marketing_suppressions"
    __table_args__ = (UniqueConstraint("user_id", "owner_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    # unsubscribe_link, one_click, whatsapp_stop, provider_21610…
    source: Mapped[str] = mapped_column(String(40))
