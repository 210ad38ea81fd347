from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base


class LoginFailure(Base):
    """A wrong password (or unknown email), counted to throttle logins per account and per
    client address across every API replica; a success clears the account's."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_failed_at", "email", "failed_at"),
        Index("ix_login_failures_ip_address_failed_at", "ip_address", "failed_at"),
        # Rows that left the window are deleted by time.
        Index("ix_login_failures_failed_at", "failed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # As typed at login, lower-cased: unknown emails are throttled too, so a lockout does
    # not tell whether an account exists.
    email: Mapped[str] = mapped_column(String(254))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
