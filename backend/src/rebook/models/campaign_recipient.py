from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class CampaignRecipient(TimestampMixin, Base):
    """One customer of a campaign, with a snapshot of the contact data taken when added."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (UniqueConstraint("campaign_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # References to campaigns.id and users.id (removed with either), checked once per
    # statement by triggers, not once per row by foreign keys: a selection writes 100 000
    # recipients in one statement (migration 2026-12-03-0900).
    campaign_id: Mapped[int] = mapped_column(Integer)
    # Indexed only after its campaign (the unique key): nothing looks recipients up by
    # customer alone but a customer's deletion (ADR 022).
    user_id: Mapped[int] = mapped_column(Integer)
    # The campaign place the customer booked at last: its name personalises the message and
    # its country reads phone numbers written without a country code.
    # No foreign key (one lookup fewer per recipient of a large selection): readers join it
    # with the campaign owner's places, so a place deleted since is no place.
    place_id: Mapped[int | None] = mapped_column(Integer)
    customer_first_name: Mapped[str] = mapped_column(String(100), default="")
    customer_last_name: Mapped[str] = mapped_column(String(100), default="")
    customer_email: Mapped[str | None] = mapped_column(String(254))
    customer_phone: Mapped[str | None] = mapped_column(String(40))
    customer_phone_e164: Mapped[str | None] = mapped_column(String(20))
