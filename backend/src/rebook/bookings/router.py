from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rebook.auth.dependencies import CurrentOwner
from rebook.bookings import service
from rebook.bookings.schemas import BookingRead, ServiceRead
from rebook.db import SessionDep
from rebook.inputs import Id
from rebook.models import BookingStatus
from rebook.pagination import Page, PageParamsDep
from rebook.places import service as places_service

router = APIRouter(prefix="/owner", tags=["bookings"])


@router.get("/services")
async def list_services(session: SessionDep, owner: CurrentOwner) -> list[ServiceRead]:
    """What the owner's places sell, by category."""
    return [ServiceRead.model_validate(s) for s in await service.list_services(session, owner)]


@router.get("/bookings", responses={404: {"description": "No such place among the owner's"}})
async def list_bookings(
    session: SessionDep,
    owner: CurrentOwner,
    params: PageParamsDep,
    user_id: Annotated[Id | None, Query(description="One customer's bookings")] = None,
    place_id: Id | None = None,
    status: BookingStatus | None = None,
) -> Page[BookingRead]:
    """Bookings at the owner's places, newest first."""
    if place_id is not None:
        await places_service.get_owned_places(session, owner, [place_id])
    items, total = await service.list_bookings(
        session,
        owner,
        user_id=user_id,
        place_id=place_id,
        status=status,
        limit=params.limit,
        offset=params.offset,
    )
    return Page[BookingRead].build(items, total, params)
