"""WhatsApp's 24-hour rule: free text reaches a customer only within 24 hours of their last
message to the business (their customer service window); anyone else needs an approved
template. Rebook keeps when each number last wrote (the inbound webhook) and decides here,
for the send, the send summary and the preview alike, what each customer is sent."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import WhatsAppServiceWindow

WINDOW = timedelta(hours=24)
# Free text leaves only while this much of the window is left: Twilio may hold a message in
# its queue for a while, and free text that reaches WhatsApp after the window closed fails
# (63016) where the template would have arrived.
MARGIN = timedelta(minutes=5)
OPEN_FOR = WINDOW - MARGIN


class Content(enum.StrEnum):
    text = "text"
    template = "template"


def is_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    return last_inbound_at is not None and last_inbound_at > open_since(now)


def open_since(now: datetime) -> datetime:
    """A window is open at `now` for a number that wrote after this moment."""
    return now - OPEN_FOR


def choose(*, has_text: bool, has_template: bool, window_open: bool) -> Content | None:
    """What a customer is sent: the free text inside their window, else the template;
    None when neither can arrive (skipped with OUTSIDE_WINDOW)."""
    if has_text and window_open:
        return Content.text
    if has_template:
        return Content.template
    return None


def split(
    *, has_text: bool, has_template: bool, total: int, inside: int
) -> dict[Content | None, int]:
    """How `total` customers, `inside` of them within their window, divide between free
    text, the template and None (skipped)."""
    counts: dict[Content | None, int] = {Content.text: 0, Content.template: 0, None: 0}
    for count, window_open in ((inside, True), (total - inside, False)):
        counts[choose(has_text=has_text, has_template=has_template, window_open=window_open)] += (
            count
        )
    return counts


async def record_inbound(session: AsyncSession, phone_e164: str, at: datetime) -> None:
    """A message from this number arrived at `at`: its window runs 24 hours from the
    latest one (a late-delivered older webhook never shortens it)."""
    stmt = insert(WhatsAppServiceWindow).values(phone_e164=phone_e164, last_inbound_at=at)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[WhatsAppServiceWindow.phone_e164],
            set_={
                "last_inbound_at": func.greatest(
                    WhatsAppServiceWindow.last_inbound_at, stmt.excluded.last_inbound_at
                )
            },
        )
    )
