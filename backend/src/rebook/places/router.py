from __future__ import annotations

from fastapi import APIRouter

from rebook.auth.dependencies import CurrentOwner
from rebook.db import SessionDep
from rebook.places import service
from rebook.places.schemas import PlaceRead

router = APIRouter(prefix="/owner/places", tags=["places"])


@router.get("")
async def list_places(session: SessionDep, owner: CurrentOwner) -> list[PlaceRead]:
    """The places of the logged-in owner."""
    return [PlaceRead.model_validate(p) for p in await service.list_places(session, owner)]
