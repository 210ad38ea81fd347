from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from rebook.db import Base, TimestampMixin


class AuditActor(enum.StrEnum):
    """Who acted: the owner (in the app), a customer (unsubscribing), the delivery worker, or
    the system (anything else that runs by itself)."""

    owner = "owner"
    customer = "customer"
    worker = "worker"
    system = "system"


class AuditEvent(TimestampMixin, Base):
    """Who did what to which campaign, when and from where. Append-only: triggers refuse to
    change an event, or to delete one other than a never-sent draft's (with the draft)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_campaign_created", "campaign_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The person acting: the owner, or a customer unsubscribing; None for the system.
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[AuditActor] = mapped_column(
        Enum(AuditActor, name="audit_actor", native_enum=False, length=20),
        server_default=AuditActor.system.value,
    )
    # A campaign with events cannot be deleted before them (RESTRICT, not SET NULL).
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(50))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
