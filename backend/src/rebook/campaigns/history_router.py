from __future__ import annotations

from fastapi import APIRouter

from rebook.audit import service
from rebook.audit.schemas import AuditEventRead
from rebook.auth.dependencies import CurrentOwner
from rebook.campaigns import service as campaigns_service
from rebook.db import SessionDep
from rebook.inputs import Id
from rebook.pagination import Page, PageParamsDep

router = APIRouter(prefix="/owner/campaigns", tags=["audit"])


@router.get(
    "/{campaign_id}/audit-events",
    responses={404: {"description": "No such campaign among the owner's"}},
)
async def list_campaign_audit_events(
    session: SessionDep, owner: CurrentOwner, campaign_id: Id, params: PageParamsDep
) -> Page[AuditEventRead]:
    """The campaign's history, newest first: what each event did, who did it and from where."""
    campaign = await campaigns_service.get_owned_campaign(session, owner, campaign_id)
    events, total = await service.campaign_events(session, campaign, params.limit, params.offset)
    items = [AuditEventRead.model_validate(e) for e in events]
    return Page[AuditEventRead].build(items, total, params)
