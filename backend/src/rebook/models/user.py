from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Computed, DateTime, Enum, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class UserRole(enum.StrEnum):
    customer = "customer"
    business_owner = "business_owner"


class User(TimestampMixin, Base):
    """A customer who books, or a business owner who owns places."""

    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
        # Eligible-customer listing walks consenting customers in name order.
        Index(
            "ix_users_marketable_by_name",
            "last_name",
            "first_name",
            "id",
            postgresql_where=text("gdpr_marketing_consent AND role = 'customer'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(40))
    # The phone in E.164, read with the country of the place where the customer gave it;
    # None when it could not be read.
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    role: Mapped[UserRole] = mapped_column(
        Enum(UserRole, name="user_role", native_enum=False, length=20),
        default=UserRole.customer,
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    gdpr_marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    gdpr_marketing_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gdpr_consent_source: Mapped[str | None] = mapped_column(String(50))
    # An owner's own From address for campaign emails, on a domain the operator verified
    # (EMAIL_SENDER_DOMAINS); None: EMAIL_FROM's address.
    sender_email: Mapped[str | None] = mapped_column(String(254))
    # What the customer search matches: names, email and the phone's digits, lower-cased and
    # without accents (search_fold, migration 2026-12-02-1230). A trigram index on it (when
    # pg_trgm is available) makes `LIKE '%frag%'` fast.
    search_text: Mapped[str] = mapped_column(
        Text,
        Computed(
            "search_fold(first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' '"
            " || regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'))",
            persisted=True,
        ),
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
