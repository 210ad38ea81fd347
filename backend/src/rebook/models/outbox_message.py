from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class OutboxMessage(TimestampMixin, Base):
    """A message the `outbox` backend kept instead of sending (demo and tests)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_owner_created", "owner_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_deliveries.id", ondelete="SET NULL"), unique=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(255))
    # The text part (emails) or the message (WhatsApp).
    body: Mapped[str] = mapped_column(Text)
    # An email's HTML part and From, as the customer's mail program shows them.
    html_body: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(320))
