from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from rebook.whatsapp.service import TemplateCategory


class WhatsAppTemplateRead(BaseModel):
    content_sid: str
    name: str
    language: str | None
    category: TemplateCategory
    status: str = Field(
        description="WhatsApp's approval: approved, pending, received, rejected, paused, "
        "disabled or unsubmitted."
    )
    rejection_reason: str | None
    can_send: bool
    problem: str | None = Field(description="Why it cannot be sent, when it cannot.")
    # The text with its `{{1}}`… placeholders, as the customer will read it once filled in.
    body: str
    buttons: list[str]
    placeholders: list[str]
    sample_values: dict[str, str]


class WhatsAppTemplateList(BaseModel):
    items: list[WhatsAppTemplateRead]
    source: Literal["twilio", "outbox"]
    refreshed_at: datetime | None
    stale_reason: str | None = Field(
        description="Set when Twilio could not be reached: the list is the last one read."
    )
