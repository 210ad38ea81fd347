from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class CampaignMessage(TimestampMixin, Base):
    """The content of a messaging campaign for one channel — its single source."""

    __tablename__ = "campaign_messages"
    __table_args__ = (UniqueConstraint("campaign_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(255))
    # Email: sanitised HTML; WhatsApp: plain text (empty when a template is used).
    message_body: Mapped[str] = mapped_column(Text, default="")
    # WhatsApp approved template (Twilio Content API) and its variables.
    content_sid: Mapped[str | None] = mapped_column(String(64))
    template_variables: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
