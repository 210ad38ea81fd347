from __future__ import annotations

from fastapi import APIRouter

from rebook.auth.dependencies import CurrentOwner
from rebook.db import SessionDep
from rebook.inputs import Id
from rebook.places import service
from rebook.places.schemas import PlaceRead, PlaceUpdate

router = APIRouter(prefix="/owner/places", tags=["places"])


@router.get("")
async def list_places(session: SessionDep, owner: CurrentOwner) -> list[PlaceRead]:
    """The places of the logged-in owner."""
    return [PlaceRead.model_validate(p) for p in await service.list_places(session, owner)]


@router.patch("/{place_id}", responses={404: {"description": "No such place among the owner's"}})
async def update_place(
    session: SessionDep, owner: CurrentOwner, place_id: Id, data: PlaceUpdate
) -> PlaceRead:
    """Where customers' replies to this place's emails go."""
    place = await service.set_reply_to(session, owner, place_id, data.reply_to_email)
    return PlaceRead.model_validate(place)
