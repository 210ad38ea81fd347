from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base


class WhatsAppServiceWindow(Base):
    """When a phone number last wrote to Rebook's WhatsApp sender: WhatsApp delivers free
    text to it only within 24 hours of that (its customer service window)."""

    __tablename__ = "whatsapp_service_windows"

    phone_e164: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_inbound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
