"""Campaign rules: every query is scoped to the owner, so another owner's campaign is
NotFound; a messaging campaign that is sending or sent is frozen (Conflict)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.campaigns.schemas import CampaignCreate, CampaignRead, CampaignUpdate, validate_config
from rebook.delivery import queue
from rebook.errors import Conflict, InvalidInput, NotFound
from rebook.messaging import content
from rebook.models import Campaign, CampaignStatus, CampaignType, User
from rebook.pagination import PageParams, paginate
from rebook.places import service as places_service

# A messaging campaign in one of these states has left the owner's hands.
FROZEN_STATUSES = (
    CampaignStatus.sending,
    CampaignStatus.sent,
    CampaignStatus.partially_failed,
)


def owned_campaigns(owner: User) -> Select[Campaign]:
    """The one place that scopes campaign queries to their owner."""
    return select(Campaign).where(Campaign.owner_id == owner.id)


async def get_owned_campaign(
    session: AsyncSession, owner: User, campaign_id: int, *, for_update: bool = False
) -> Campaign:
    statement = owned_campaigns(owner).where(Campaign.id == campaign_id)
    if for_update:
        statement = statement.with_for_update(of=Campaign)
    campaign = await session.scalar(statement)
    if campaign is None:
        raise NotFound(f"Campaign {campaign_id} not found.")
    return campaign


def ensure_editable(campaign: Campaign) -> None:
    if campaign.status in FROZEN_STATUSES:
        raise Conflict(
            f"This campaign is {campaign.status.value.replace('_', ' ')} and can no longer be "
            "changed."
        )


async def list_campaigns(
    session: AsyncSession,
    owner: User,
    params: PageParams,
    campaign_type: CampaignType | None = None,
    status: CampaignStatus | None = None,
) -> tuple[list[CampaignRead], int]:
    statement = owned_campaigns(owner).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if campaign_type is not None:
        statement = statement.where(Campaign.campaign_type == campaign_type)
    if status is not None:
        statement = statement.where(Campaign.status == status)
    campaigns, total = await paginate(session, statement, params)
    return await to_read_many(session, campaigns), total


async def create_campaign(
    session: AsyncSession, owner: User, data: CampaignCreate, ip_address: str | None
) -> Campaign:
    places = await places_service.get_owned_places(session, owner, data.place_ids)
    campaign = Campaign(
        owner_id=owner.id,
        name=data.name,
        description=data.description,
        campaign_type=data.campaign_type,
        status=CampaignStatus.draft,
        config=data.config or {},
        places=places,
    )
    session.add(campaign)
    await session.flush()
    if data.messaging_config is not None:
        await content.save(session, campaign, data.messaging_config)
    await audit.record(
        session,
        "campaign.created",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details={"campaign_type": campaign.campaign_type.value, "name": campaign.name},
        ip_address=ip_address,
    )
    return campaign


async def update_campaign(
    session: AsyncSession,
    owner: User,
    campaign_id: int,
    data: CampaignUpdate,
    ip_address: str | None,
) -> Campaign:
    campaign = await get_owned_campaign(session, owner, campaign_id, for_update=True)
    ensure_editable(campaign)
    changed = sorted(data.model_fields_set)
    if data.name is not None:
        campaign.name = data.name.strip()
    if "description" in data.model_fields_set:
        campaign.description = data.description
    if data.place_ids is not None:
        campaign.places = await places_service.get_owned_places(session, owner, data.place_ids)
    is_messaging = campaign.campaign_type == CampaignType.messaging
    if data.status is not None:
        if is_messaging:
            raise InvalidInput("status: a messaging campaign changes status by sending or cancel.")
        campaign.status = data.status
    if data.config is not None:
        if is_messaging:
            raise InvalidInput("config: a messaging campaign takes messaging_config.")
        try:
            campaign.config = validate_config(campaign.campaign_type, data.config)
        except ValueError as exc:
            raise InvalidInput(f"config: {exc}") from exc
    if data.messaging_config is not None:
        if not is_messaging:
            raise InvalidInput("messaging_config: only messaging campaigns have it.")
        await content.save(session, campaign, data.messaging_config)
    await session.flush()
    await audit.record(
        session,
        "campaign.updated",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details={"fields": changed},
        ip_address=ip_address,
    )
    return campaign


async def delete_campaign(
    session: AsyncSession, owner: User, campaign_id: int, ip_address: str | None
) -> None:
    campaign = await get_owned_campaign(session, owner, campaign_id, for_update=True)
    if campaign.status == CampaignStatus.sending:
        raise Conflict("This campaign is sending; cancel it before deleting it.")
    await audit.record(
        session,
        "campaign.deleted",
        owner_id=owner.id,
        campaign_id=None,
        details={"campaign_id": campaign.id, "name": campaign.name},
        ip_address=ip_address,
    )
    await queue.cancel_waiting(session, campaign.id)  # a scheduled start must not outlive it
    await session.delete(campaign)
    await session.flush()


async def to_read_many(session: AsyncSession, campaigns: Sequence[Campaign]) -> list[CampaignRead]:
    messaging = await content.load_many(
        session, [c for c in campaigns if c.campaign_type == CampaignType.messaging]
    )
    return [
        CampaignRead(
            id=c.id,
            name=c.name,
            description=c.description,
            campaign_type=c.campaign_type,
            status=c.status,
            place_ids=c.place_ids,
            config=None if c.campaign_type == CampaignType.messaging else c.config,
            messaging_config=messaging.get(c.id),
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        for c in campaigns
    ]


async def to_read(session: AsyncSession, campaign: Campaign) -> CampaignRead:
    await session.refresh(campaign)
    return (await to_read_many(session, [campaign]))[0]
