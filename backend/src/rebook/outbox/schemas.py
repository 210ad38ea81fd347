from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OutboxMessageRead(BaseModel):
    id: int
    channel: str
    to_address: str
    subject: str | None
    body: str = Field(description="An email's text part, or the WhatsApp message.")
    html_body: str | None = Field(
        description="An email's HTML part as sent (owner content: show it only sandboxed)."
    )
    sender: str | None = Field(description="An email's From, as the customer sees it.")
    created_at: datetime
    delivery_id: int | None
    campaign_id: int | None
