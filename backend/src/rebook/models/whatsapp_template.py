from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base


class WhatsAppTemplate(Base):
    """A content template of the Twilio account, as the Content API last listed it: the
    cache every API replica and worker reads (owners pick from it; sends check it)."""

    __tablename__ = "whatsapp_templates"

    # The Twilio account the template belongs to ("outbox" for the demo templates).
    account_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    content_sid: Mapped[str] = mapped_column(String(34), primary_key=True)
    friendly_name: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(20))
    # WhatsApp's category as Meta reports it: MARKETING, UTILITY, AUTHENTICATION…
    category: Mapped[str | None] = mapped_column(String(40))
    # WhatsApp approval: approved, pending, received, rejected, paused, disabled, unsubmitted.
    status: Mapped[str] = mapped_column(String(30))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # The Content API's `types` (twilio/text, twilio/media…) and sample `variables`.
    types: Mapped[dict[str, Any]] = mapped_column(JSONB)
    sample_variables: Mapped[dict[str, Any]] = mapped_column(JSONB)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
