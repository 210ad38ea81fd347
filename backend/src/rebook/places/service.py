"""Places, always seen through their owner: a place of another owner does not exist."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.errors import NotFound
from rebook.models import Place, User


async def list_places(session: AsyncSession, owner: User) -> Sequence[Place]:
    return (
        await session.scalars(select(Place).where(Place.owner_id == owner.id).order_by(Place.id))
    ).all()


async def get_owned_places(
    session: AsyncSession, owner: User, place_ids: Iterable[int]
) -> list[Place]:
    """The owner's places with these ids; NotFound naming the ids that are not the owner's."""
    wanted = sorted(set(place_ids))
    places = (
        await session.scalars(
            select(Place).where(Place.owner_id == owner.id, Place.id.in_(wanted)).order_by(Place.id)
        )
    ).all()
    missing = sorted(set(wanted) - {p.id for p in places})
    if missing:
        raise NotFound(f"Place not found: {', '.join(map(str, missing))}.")
    return list(places)


async def set_reply_to(
    session: AsyncSession, owner: User, place_id: int, address: str | None
) -> Place:
    """The place's Reply-To for its emails (None: no Reply-To)."""
    (place,) = await get_owned_places(session, owner, [place_id])
    place.reply_to_email = address
    await session.flush()
    return place
