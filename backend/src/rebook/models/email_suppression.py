from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class EmailSuppression(TimestampMixin, Base):
    """An address no owner mails any more: it bounced for good (or softly, too often). Kept
    by address, not customer: the address is what is dead, whoever holds it."""

    __tablename__ = "email_suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower case: addresses are compared as the users' unique index compares them.
    address: Mapped[str] = mapped_column(String(254), unique=True)
    # hard_bounce | soft_bounces
    reason: Mapped[str] = mapped_column(String(30))
    # What the receiving server said ("550 5.1.1 No such user").
    detail: Mapped[str] = mapped_column(Text, default="")
    # smtp (refused while sending) | dsn | ses | mailgun
    source: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_deliveries.id", ondelete="SET NULL")
    )
