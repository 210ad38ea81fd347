from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    DateTime,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class Channel(enum.StrEnum):
    email = "email"
    whatsapp = "whatsapp"


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"
    cancelled = "cancelled"


TERMINAL_STATUSES = (
    DeliveryStatus.sent,
    DeliveryStatus.failed,
    DeliveryStatus.skipped,
    DeliveryStatus.cancelled,
)


class CampaignDelivery(TimestampMixin, Base):
    """The outcome of one recipient on one channel: an email+WhatsApp recipient has two."""

    __tablename__ = "campaign_deliveries"
    __table_args__ = (
        UniqueConstraint("recipient_id", "channel"),
        # Batches claim pending work of a campaign; listings filter by status and channel.
        Index("ix_campaign_deliveries_campaign_status", "campaign_id", "status", "channel", "id"),
        Index(
            "ix_campaign_deliveries_provider_message_id",
            "provider_message_id",
            postgresql_where=text("provider_message_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The recipient's campaign (no key of its own: the recipient's ties it to the campaign
    # and removes it with it, and a selection writes one lookup fewer per delivery).
    campaign_id: Mapped[int] = mapped_column(Integer)
    # A reference to campaign_recipients.id (removed with it), checked once per statement
    # by a trigger (migration 2026-12-03-0900).
    recipient_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(
        String(20), default=DeliveryStatus.pending, server_default=DeliveryStatus.pending.value
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Attempts made before "retry failed" set `attempts` back to 0: a delivery ever attempted
    # is part of the record and cannot be deleted.
    earlier_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the current attempt's provider call began (committed before the call).
    provider_call_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    # What the provider reported later: delivered, read, undelivered, bounced…
    provider_status: Mapped[str | None] = mapped_column(String(30))
    error_code: Mapped[str | None] = mapped_column(String(30))
    error_message: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 5))
    # Set when a crash left it unclear whether the provider got the message: counted in stats.
    possible_duplicate: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
