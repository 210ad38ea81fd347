"""Saved audiences and presets, their live counts, and a campaign's audience: recorded when
its customers are selected, checked again when it is sent (ADR 021)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, exists, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.delivery import reasons
from rebook.errors import Conflict, NotFound
from rebook.messaging import customers
from rebook.messaging.audience import CustomerFilter
from rebook.messaging.audiences import filters as audience_filters
from rebook.messaging.audiences.schemas import (
    AudienceCreate,
    AudienceFilters,
    AudienceList,
    AudienceRead,
    AudienceUpdate,
)
from rebook.models import (
    Campaign,
    CampaignDelivery,
    CampaignRecipient,
    DeliveryStatus,
    SavedAudience,
    Service,
    User,
)
from rebook.places import service as places_service


@dataclass(frozen=True)
class Preset:
    slug: str
    name: str
    description: str
    filters: AudienceFilters


PRESETS = [
    Preset(
        "regulars-overdue",
        "Regulars overdue",
        "At least 3 visits, and it has been 1.5 times their usual interval since the last.",
        AudienceFilters(overdue=True, has_upcoming=False),
    ),
    Preset(
        "not-visited-90-days",
        "Haven't visited in 90 days",
        "Their last visit was more than 90 days ago and nothing is booked.",
        AudienceFilters(no_visit_within_days=90, has_upcoming=False),
    ),
    Preset(
        "one-visit-only",
        "One visit only",
        "Came once, more than 30 days ago, and has not booked again.",
        AudienceFilters(first_time=True, no_visit_within_days=30, has_upcoming=False),
    ),
    Preset(
        "top-spenders",
        "Top spenders",
        "Spent at least 500.00 with you, no-shows excluded.",
        AudienceFilters(min_spend=50_000, no_shows="exclude"),
    ),
]


async def check_filters(
    session: AsyncSession, owner: User, filters: AudienceFilters
) -> audience_filters.Names:
    """The services and places the filters name are the owner's (else NotFound); returns
    their names, for the reasons."""
    places: dict[int, str] = {}
    services: dict[int, str] = {}
    if filters.visited_place_ids:
        owned = await places_service.get_owned_places(session, owner, filters.visited_place_ids)
        places = {p.id: p.name for p in owned}
    if filters.service_ids:
        wanted = set(filters.service_ids)
        rows = await session.execute(
            select(Service.id, Service.name).where(
                Service.owner_id == owner.id, Service.id.in_(wanted)
            )
        )
        services = {row.id: row.name for row in rows}
        if missing := sorted(wanted - services.keys()):
            raise NotFound(f"Service not found: {', '.join(map(str, missing))}.")
    return audience_filters.Names(services=services, places=places)


async def _count(
    session: AsyncSession,
    owner: User,
    place_ids: Sequence[int],
    filters: AudienceFilters,
    now: datetime,
    all_places: bool | None = None,
) -> int:
    return await customers.count_eligible(
        session,
        owner.id,
        place_ids,
        CustomerFilter.all,
        None,
        history=filters,
        now=now,
        all_places=all_places,
    )


def _read_saved(audience: SavedAudience, count: int) -> AudienceRead:
    return AudienceRead(
        id=audience.id,
        key=f"saved:{audience.id}",
        name=audience.name,
        description="Saved audience",
        filters=AudienceFilters.model_validate(audience.filters),
        count=count,
        updated_at=audience.updated_at,
    )


async def _places(session: AsyncSession, owner: User, place_ids: Sequence[int] | None) -> list[int]:
    if place_ids:
        return [p.id for p in await places_service.get_owned_places(session, owner, place_ids)]
    return [p.id for p in await places_service.list_places(session, owner)]


async def list_audiences(
    session: AsyncSession, owner: User, place_ids: Sequence[int] | None, now: datetime
) -> AudienceList:
    """Presets and the owner's saved audiences, each with its live count at these places
    (default: all the owner's)."""
    places = await _places(session, owner, place_ids)
    # Counted once for every audience below.
    every_place = await customers.are_all_places(session, owner.id, places)
    presets = [
        AudienceRead(
            id=None,
            key=f"preset:{p.slug}",
            name=p.name,
            description=p.description,
            filters=p.filters,
            count=await _count(session, owner, places, p.filters, now, every_place),
        )
        for p in PRESETS
    ]
    saved = (
        await session.scalars(
            select(SavedAudience)
            .where(SavedAudience.owner_id == owner.id)
            .order_by(func.lower(SavedAudience.name), SavedAudience.id)
        )
    ).all()
    return AudienceList(
        presets=presets,
        saved=[
            _read_saved(
                a,
                await _count(
                    session,
                    owner,
                    places,
                    AudienceFilters.model_validate(a.filters),
                    now,
                    every_place,
                ),
            )
            for a in saved
        ],
    )


async def get_owned(session: AsyncSession, owner: User, audience_id: int) -> SavedAudience:
    audience = await session.scalar(
        select(SavedAudience).where(
            SavedAudience.id == audience_id, SavedAudience.owner_id == owner.id
        )
    )
    if audience is None:
        raise NotFound(f"Audience {audience_id} not found.")
    return audience


async def read(
    session: AsyncSession, owner: User, audience: SavedAudience, now: datetime
) -> AudienceRead:
    filters = AudienceFilters.model_validate(audience.filters)
    places = await _places(session, owner, None)
    return _read_saved(audience, await _count(session, owner, places, filters, now))


async def _ensure_name_free(
    session: AsyncSession, owner: User, name: str, audience_id: int | None = None
) -> None:
    taken = await session.scalar(
        select(SavedAudience.id).where(
            SavedAudience.owner_id == owner.id,
            SavedAudience.name == name,
            SavedAudience.id != (audience_id or 0),
        )
    )
    if taken is not None:
        raise Conflict(f'You already have an audience named "{name}".')


async def create(session: AsyncSession, owner: User, data: AudienceCreate) -> SavedAudience:
    await check_filters(session, owner, data.filters)
    await _ensure_name_free(session, owner, data.name.strip())
    audience = SavedAudience(
        owner_id=owner.id,
        name=data.name.strip(),
        filters=data.filters.model_dump(mode="json", exclude_defaults=True),
    )
    session.add(audience)
    await session.flush()
    return audience


async def change(
    session: AsyncSession, owner: User, audience: SavedAudience, data: AudienceUpdate
) -> SavedAudience:
    if data.filters is not None:
        await check_filters(session, owner, data.filters)
        audience.filters = data.filters.model_dump(mode="json", exclude_defaults=True)
    if data.name is not None:
        await _ensure_name_free(session, owner, data.name.strip(), audience.id)
        audience.name = data.name.strip()
    await session.flush()
    await session.refresh(audience)  # updated_at is the database's
    return audience


async def remove(session: AsyncSession, audience: SavedAudience) -> None:
    """Campaigns keep their own copy of the definition: deleting changes none of them."""
    await session.delete(audience)
    await session.flush()


# --- a campaign's audience ---


def definition(filters: AudienceFilters, saved: SavedAudience | None) -> dict[str, Any]:
    """What a campaign records: the filters themselves (not a reference that may change)."""
    return {
        "filters": filters.model_dump(mode="json", exclude_defaults=True),
        "saved_audience_id": saved.id if saved else None,
        "name": saved.name if saved else None,
    }


def campaign_filters(campaign: Campaign) -> AudienceFilters | None:
    if not campaign.audience:
        return None
    try:
        return AudienceFilters.model_validate(campaign.audience.get("filters") or {})
    except ValidationError:  # a definition this version cannot read selects nobody new
        return None


async def skip_no_longer_matching(session: AsyncSession, campaign: Campaign, now: datetime) -> int:
    """At send: pending deliveries of recipients whose booking history no longer matches the
    campaign's audience are skipped, with the reason. Returns how many were skipped.
    Consent and unsubscribes are checked again per message by the delivery engine."""
    filters = campaign_filters(campaign)
    if filters is None or filters.is_empty():
        return 0
    still = audience_filters.users_matching(campaign.owner_id, filters, now)
    matching = exists(
        select(literal_column("1")).where(User.id == CampaignRecipient.user_id, still)
    )
    picked = (campaign.audience or {}).get("picked_user_ids") or []
    result = await session.execute(
        update(CampaignDelivery)
        .where(
            CampaignDelivery.campaign_id == campaign.id,
            CampaignDelivery.status == DeliveryStatus.pending,
            CampaignDelivery.recipient_id.in_(
                select(CampaignRecipient.id).where(
                    and_(
                        CampaignRecipient.campaign_id == campaign.id,
                        CampaignRecipient.user_id.not_in(picked),
                        ~matching,
                    )
                )
            ),
        )
        .values(
            status=DeliveryStatus.skipped.value,
            error_code=reasons.NO_LONGER_MATCHES.code,
            error_message=reasons.NO_LONGER_MATCHES.message,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def select_with(
    session: AsyncSession,
    owner: User,
    campaign: Campaign,
    filters: AudienceFilters | None,
    saved_audience_id: int | None,
    user_ids: Sequence[int] | None = None,
) -> AudienceFilters | None:
    """Check the audience of a selection and record it on the campaign; returns the filters
    the new recipients must match (None: no booking-history condition). Customers added by
    id without an audience are the owner's own picks: the check at send leaves them be; adding
    everyone matching without an audience leaves the campaign without one."""
    saved = await get_owned(session, owner, saved_audience_id) if saved_audience_id else None
    if filters is None and saved is not None:
        filters = AudienceFilters.model_validate(saved.filters)
    if filters is None or filters.is_empty():
        if user_ids is None:
            # Everyone matching, whatever they booked: no audience describes the campaign.
            campaign.audience = None
        elif campaign.audience:
            picked = set(campaign.audience.get("picked_user_ids") or []) | set(user_ids)
            campaign.audience = {**campaign.audience, "picked_user_ids": sorted(picked)}
        return None
    await check_filters(session, owner, filters)
    campaign.audience = definition(filters, saved)
    return filters
