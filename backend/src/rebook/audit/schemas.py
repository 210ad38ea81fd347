from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rebook.models import AuditActor


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str = Field(description="What happened, e.g. `campaign.recipients_added`.")
    created_at: datetime = Field(description="When it happened.")
    actor: AuditActor = Field(description="Who acted: the owner, a customer, the worker.")
    ip_address: str | None = Field(description="Where the request came from, if it was one.")
    user_agent: str | None = Field(description="The browser or client of that request.")
    details: dict[str, Any] = Field(
        description="What the event did: recipients and how they were chosen, channels, "
        "counts, schedule changes…"
    )
