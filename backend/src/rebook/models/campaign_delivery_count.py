from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base


class CampaignDeliveryCount(Base):
    """Exact number of deliveries per (campaign, channel, status), kept by database triggers
    on campaign_deliveries (see the migration). Read-only for the application."""

    __tablename__ = "campaign_delivery_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 5), server_default="0")
