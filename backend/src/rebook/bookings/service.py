from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.bookings.schemas import BookingRead, PriceRead, ServiceRead
from rebook.models import Booking, BookingStatus, Place, Service, User


async def list_services(session: AsyncSession, owner: User) -> Sequence[Service]:
    return (
        await session.scalars(
            select(Service)
            .where(Service.owner_id == owner.id)
            .order_by(func.lower(Service.category), func.lower(Service.name), Service.id)
        )
    ).all()


def _owned(
    owner: User, user_id: int | None, place_id: int | None, status: BookingStatus | None
) -> Select[Booking, str, Service]:
    """The owner's bookings (at the owner's places only: another owner's are never found)."""
    statement = (
        select(Booking, Place.name, Service)
        .join(Place, Place.id == Booking.place_id)
        .outerjoin(Service, Service.id == Booking.service_id)
        .where(Place.owner_id == owner.id)
    )
    if user_id is not None:
        statement = statement.where(Booking.user_id == user_id)
    if place_id is not None:
        statement = statement.where(Booking.place_id == place_id)
    if status is not None:
        statement = statement.where(Booking.status == status.value)
    return statement


async def list_bookings(
    session: AsyncSession,
    owner: User,
    *,
    user_id: int | None,
    place_id: int | None,
    status: BookingStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[BookingRead], int]:
    statement = _owned(owner, user_id, place_id, status)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.execute(
            statement.order_by(Booking.starts_at.desc(), Booking.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [_read(b, place_name, s) for b, place_name, s in rows], int(total or 0)


def _read(booking: Booking, place_name: str, service: Service | None) -> BookingRead:
    price = None
    if booking.price_amount is not None and booking.currency is not None:
        price = PriceRead(amount=booking.price_amount, currency=booking.currency)
    return BookingRead(
        id=booking.id,
        place_id=booking.place_id,
        place_name=place_name,
        user_id=booking.user_id,
        starts_at=booking.starts_at,
        status=BookingStatus(booking.status),
        service=ServiceRead.model_validate(service) if service else None,
        price=price,
    )
