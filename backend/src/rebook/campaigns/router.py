from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from rebook.auth.dependencies import CurrentOwner
from rebook.campaigns import service
from rebook.campaigns.schemas import CampaignCreate, CampaignRead, CampaignUpdate
from rebook.db import SessionDep
from rebook.inputs import Id
from rebook.models import CampaignStatus, CampaignType
from rebook.pagination import Page, PageParamsDep
from rebook.request_context import ClientOrigin

router = APIRouter(prefix="/owner/campaigns", tags=["campaigns"])

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "No such campaign or place among the owner's"}}
FROZEN: Responses = {409: {"description": "The campaign is sending or sent; it cannot change"}}
KEPT: Responses = {
    409: {"description": "The campaign has sent messages: it can be archived, not deleted"}
}


@router.get("")
async def list_campaigns(
    session: SessionDep,
    owner: CurrentOwner,
    params: PageParamsDep,
    campaign_type: Annotated[CampaignType | None, Query()] = None,
    status_: Annotated[CampaignStatus | None, Query(alias="status")] = None,
    archived: Annotated[
        bool | None,
        Query(
            description="Only archived (true) or only current (false) campaigns. Left out: "
            "current ones, or every one with the given status."
        ),
    ] = None,
) -> Page[CampaignRead]:
    items, total = await service.list_campaigns(
        session, owner, params, campaign_type, status_, archived
    )
    return Page[CampaignRead].build(items, total, params)


@router.post("", status_code=status.HTTP_201_CREATED, responses=NOT_FOUND)
async def create_campaign(
    session: SessionDep, owner: CurrentOwner, data: CampaignCreate, origin: ClientOrigin
) -> CampaignRead:
    campaign = await service.create_campaign(session, owner, data, origin)
    return await service.to_read(session, campaign)


@router.get("/{campaign_id}", responses=NOT_FOUND)
async def get_campaign(session: SessionDep, owner: CurrentOwner, campaign_id: Id) -> CampaignRead:
    campaign = await service.get_owned_campaign(session, owner, campaign_id)
    return await service.to_read(session, campaign)


@router.patch("/{campaign_id}", responses={**NOT_FOUND, **FROZEN})
async def update_campaign(
    session: SessionDep,
    owner: CurrentOwner,
    campaign_id: Id,
    data: CampaignUpdate,
    origin: ClientOrigin,
) -> CampaignRead:
    campaign = await service.update_campaign(session, owner, campaign_id, data, origin)
    return await service.to_read(session, campaign)


@router.delete(
    "/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**NOT_FOUND, **KEPT}
)
async def delete_campaign(
    session: SessionDep, owner: CurrentOwner, campaign_id: Id, origin: ClientOrigin
) -> None:
    """Delete a campaign that never sent anything. One that did is kept as the record of who
    was messaged: archive it instead."""
    await service.delete_campaign(session, owner, campaign_id, origin)


@router.post(
    "/{campaign_id}/archive",
    responses={
        **NOT_FOUND,
        409: {"description": "The campaign is scheduled or sending; cancel it first"},
    },
)
async def archive_campaign(
    session: SessionDep, owner: CurrentOwner, campaign_id: Id, origin: ClientOrigin
) -> CampaignRead:
    """Hide the campaign from the default list; its history stays readable."""
    campaign = await service.archive_campaign(session, owner, campaign_id, origin, archived=True)
    return await service.to_read(session, campaign)


@router.post("/{campaign_id}/unarchive", responses=NOT_FOUND)
async def unarchive_campaign(
    session: SessionDep, owner: CurrentOwner, campaign_id: Id, origin: ClientOrigin
) -> CampaignRead:
    """Bring an archived campaign back to the list."""
    campaign = await service.archive_campaign(session, owner, campaign_id, origin, archived=False)
    return await service.to_read(session, campaign)
