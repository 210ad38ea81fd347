from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from rebook.auth.dependencies import CurrentOwner
from rebook.db import SessionDep
from rebook.inputs import Id
from rebook.messaging.audiences import service
from rebook.messaging.audiences.schemas import (
    AudienceCreate,
    AudienceList,
    AudienceRead,
    AudienceUpdate,
)
from rebook.request_context import Now

router = APIRouter(prefix="/owner/audiences", tags=["audiences"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such audience or place"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "The name is taken"}}


@router.get("", responses=NOT_FOUND)
async def list_audiences(
    session: SessionDep,
    owner: CurrentOwner,
    now: Now,
    place_ids: Annotated[list[Id] | None, Query(max_length=500)] = None,
) -> AudienceList:
    """The presets and the owner's saved audiences, each with how many customers it selects
    right now at these places (default: all the owner's)."""
    return await service.list_audiences(session, owner, place_ids, now)


@router.post("", status_code=status.HTTP_201_CREATED, responses={**NOT_FOUND, **CONFLICT})
async def create_audience(
    session: SessionDep, owner: CurrentOwner, now: Now, data: AudienceCreate
) -> AudienceRead:
    audience = await service.create(session, owner, data)
    return await service.read(session, owner, audience, now)


@router.get("/{audience_id}", responses=NOT_FOUND)
async def get_audience(
    session: SessionDep, owner: CurrentOwner, now: Now, audience_id: Id
) -> AudienceRead:
    audience = await service.get_owned(session, owner, audience_id)
    return await service.read(session, owner, audience, now)


@router.patch("/{audience_id}", responses={**NOT_FOUND, **CONFLICT})
async def update_audience(
    session: SessionDep, owner: CurrentOwner, now: Now, audience_id: Id, data: AudienceUpdate
) -> AudienceRead:
    audience = await service.get_owned(session, owner, audience_id)
    await service.change(session, owner, audience, data)
    return await service.read(session, owner, audience, now)


@router.delete("/{audience_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_audience(session: SessionDep, owner: CurrentOwner, audience_id: Id) -> None:
    """Campaigns sent with it keep their copy of its definition."""
    await service.remove(session, await service.get_owned(session, owner, audience_id))
