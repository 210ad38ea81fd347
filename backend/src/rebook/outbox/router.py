from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rebook.auth.dependencies import CurrentOwner
from rebook.db import SessionDep
from rebook.models import Channel
from rebook.outbox import service as outbox_service
from rebook.outbox.schemas import OutboxMessageRead
from rebook.pagination import Page, PageParamsDep

router = APIRouter(prefix="/owner/outbox", tags=["outbox"])


@router.get("", response_model=Page[OutboxMessageRead])
async def list_outbox_messages(
    owner: CurrentOwner,
    session: SessionDep,
    params: PageParamsDep,
    channel: Annotated[Channel | None, Query(description="Only this channel")] = None,
) -> Page[OutboxMessageRead]:
    """Messages the outbox backends kept instead of sending (EMAIL_BACKEND / WHATSAPP_BACKEND
    `outbox`), newest first."""
    items, total = await outbox_service.list_outbox(session, owner.id, params, channel)
    return Page[OutboxMessageRead].build(items, total, params)
