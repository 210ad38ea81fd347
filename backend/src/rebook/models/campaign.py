from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rebook.db import Base, TimestampMixin
from rebook.models.place import Place


class CampaignType(enum.StrEnum):
    price_reduction = "price_reduction"
    rewards_increase = "rewards_increase"
    free_service = "free_service"
    messaging = "messaging"


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    ended = "ended"
    # messaging campaigns
    scheduled = "scheduled"
    sending = "sending"
    sent = "sent"
    partially_failed = "partially_failed"
    failed = "failed"  # finished with nothing sent: every message failed
    cancelled = "cancelled"


campaign_places = Table(
    "campaign_places",
    Base.metadata,
    Column(
        "campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("place_id", Integer, ForeignKey("places.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(TimestampMixin, Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    campaign_type: Mapped[CampaignType] = mapped_column(
        Enum(CampaignType, name="campaign_type", native_enum=False, length=30)
    )
    status: Mapped[CampaignStatus] = mapped_column(
        Enum(CampaignStatus, name="campaign_status", native_enum=False, length=30),
        default=CampaignStatus.draft,
        index=True,
    )
    # Per-type settings; for `messaging`, channels and schedule only (content lives in
    # campaign_messages).
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The booking-history audience its customers were selected with ({"filters": …, "name":
    # …, "saved_audience_id": …}); recorded with the selection, checked again at send.
    audience: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    # When it first went `sending` (kept by a trigger, never cleared): from then on it is a
    # record of who was messaged and cannot be deleted, only archived.
    first_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Hidden from the default list; nothing else changes.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    places: Mapped[list[Place]] = relationship(
        secondary=campaign_places, lazy="selectin", order_by=Place.id
    )

    @property
    def place_ids(self) -> list[int]:
        return [p.id for p in self.places]
