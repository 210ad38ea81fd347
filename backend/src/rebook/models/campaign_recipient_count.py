from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base


class CampaignRecipientCount(Base):
    """Exact number of recipients per campaign, kept by database triggers on
    campaign_recipients (see the migration). Read-only for the application."""

    __tablename__ = "campaign_recipient_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    count: Mapped[int] = mapped_column(BigInteger, server_default="0")
