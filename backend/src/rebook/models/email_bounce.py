from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class EmailBounce(TimestampMixin, Base):
    """A bounce or complaint about one delivered email, however it reached us (SMTP refusal,
    DSN, ARF report, provider webhook). One per delivery and kind: a provider's retries and a
    report that comes both by mail and by webhook count once."""

    __tablename__ = "email_bounces"
    __table_args__ = (
        UniqueConstraint("delivery_id", "kind"),
        # An owner's complaints over the last days; an address's soft bounces.
        Index("ix_email_bounces_owner_kind_created", "owner_id", "kind", "created_at"),
        Index("ix_email_bounces_address_kind_created", "address", "kind", "created_at"),
        # A campaign's bounced and complained counts.
        Index("ix_email_bounces_campaign_kind", "campaign_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_deliveries.id", ondelete="CASCADE")
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(254))  # lower case
    # hard | soft | complaint
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
