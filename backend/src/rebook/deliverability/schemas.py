from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DeliverabilityRead(BaseModel):
    """The owner's email reputation over the last `window_days`."""

    window_days: int
    emails: int
    complaints: int
    complaint_rate: float  # a fraction: 0.001 is 0.1 %
    warning_rate: float
    hold_rate: float
    # Above the warning rate: customers mark these emails as spam too often.
    warning: bool
    # Emails are held (no new send, no more email from running campaigns) until lifted.
    held: bool
    held_since: datetime | None
    message: str | None


class SuppressionRead(BaseModel):
    customer_id: int
    name: str
    channel: str
    # unsubscribe_link, one_click, mailto, whatsapp_stop, complaint, hard_bounce, soft_bounces
    reason: str
    detail: str
    since: datetime


class EmailSenderRead(BaseModel):
    sender_email: str | None
    verified_domains: list[str]


class EmailSenderUpdate(BaseModel):
    sender_email: str | None = Field(default=None, max_length=254)
