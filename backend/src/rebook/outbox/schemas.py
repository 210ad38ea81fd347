from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class OutboxMessageRead(BaseModel):
    id: int
    channel: str
    to_address: str
    subject: str | None
    body: str
    created_at: datetime
    delivery_id: int | None
    campaign_id: int | None
