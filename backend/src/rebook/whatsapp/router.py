from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from rebook.auth.dependencies import get_current_business_owner
from rebook.config import get_settings
from rebook.db import SessionDep
from rebook.request_context import Now
from rebook.whatsapp import service
from rebook.whatsapp.schemas import WhatsAppTemplateList, WhatsAppTemplateRead

# The templates are the platform's Twilio account's: every owner picks from the same list.
router = APIRouter(
    prefix="/owner/whatsapp-templates",
    tags=["whatsapp"],
    dependencies=[Depends(get_current_business_owner)],
)

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    502: {"description": "Twilio could not be reached and no list was read before"}
}


def _read(catalog: service.Catalog, source: str) -> WhatsAppTemplateList:
    items = []
    for row in catalog.templates:
        content = service.content_of(row.content_sid, row.friendly_name, row.types)
        problem = service.problem(row)
        items.append(
            WhatsAppTemplateRead(
                content_sid=row.content_sid,
                name=row.friendly_name,
                language=row.language,
                category=service.category(row),
                status=row.status,
                rejection_reason=row.rejection_reason,
                can_send=problem is None,
                problem=problem,
                body=content.body,
                buttons=list(content.buttons),
                placeholders=list(content.placeholders),
                sample_values={
                    k: str(v) for k, v in row.sample_variables.items() if k in content.placeholders
                },
            )
        )
    return WhatsAppTemplateList(
        items=items,
        source="twilio" if source == "twilio" else "outbox",
        refreshed_at=catalog.refreshed_at,
        stale_reason=catalog.stale_reason,
    )


@router.get("", responses=UNAVAILABLE)
async def get_whatsapp_templates(session: SessionDep, now: Now) -> WhatsAppTemplateList:
    """The WhatsApp account's content templates with their approval and category (read
    from Twilio's Content API at most every WHATSAPP_TEMPLATES_CACHE_SECONDS)."""
    settings = get_settings()
    catalog = await service.catalog(session, settings, now=now)
    return _read(catalog, settings.whatsapp_backend)


@router.post("/refresh", responses=UNAVAILABLE)
async def refresh_whatsapp_templates(session: SessionDep, now: Now) -> WhatsAppTemplateList:
    """Read the templates from Twilio now (after approving one, say)."""
    settings = get_settings()
    catalog = await service.catalog(session, settings, refresh=True, now=now)
    return _read(catalog, settings.whatsapp_backend)
