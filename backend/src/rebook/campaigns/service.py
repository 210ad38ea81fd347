"""Campaign rules: every query is scoped to the owner, so another owner's campaign is
NotFound; a messaging campaign that is sending or sent is frozen (Conflict); a campaign that
has sent anything is kept as a record: archived, never deleted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.campaigns.schemas import CampaignCreate, CampaignRead, CampaignUpdate, validate_config
from rebook.delivery import queue
from rebook.errors import Conflict, InvalidInput, NotFound
from rebook.messaging import content, flow, recipient_selection, send_checks
from rebook.messaging.schemas import MessagingConfig
from rebook.models import Campaign, CampaignStatus, CampaignType, User
from rebook.pagination import PageParams, paginate
from rebook.places import service as places_service
from rebook.request_context import Origin

# A messaging campaign in one of these states has left the owner's hands.
FROZEN_STATUSES = (
    CampaignStatus.sending,
    CampaignStatus.sent,
    CampaignStatus.partially_failed,
    CampaignStatus.failed,
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


# Content fields whose change the audit trail names (not their text: a body may be long).
CONTENT_FIELDS = (
    "email_subject",
    "email_body",
    "whatsapp_message",
    "whatsapp_content_sid",
    "whatsapp_content_variables",
)


def ensure_not_archived(campaign: Campaign) -> None:
    if campaign.archived_at is not None:
        raise Conflict("This campaign is archived; unarchive it to change or send it.")


def can_edit(campaign: Campaign) -> bool:
    """Whether changes are accepted (`ensure_editable` says why not)."""
    return campaign.archived_at is None and campaign.status not in FROZEN_STATUSES


def can_send(campaign: Campaign) -> bool:
    """Whether its state allows sending or scheduling it; the send summary checks the rest."""
    return (
        campaign.campaign_type == CampaignType.messaging
        and campaign.archived_at is None
        and campaign.status in send_checks.SENDABLE_STATUSES
    )


def can_cancel(campaign: Campaign) -> bool:
    return (
        campaign.campaign_type == CampaignType.messaging
        and campaign.status in send_checks.CANCELLABLE_STATUSES
    )


def ensure_editable(campaign: Campaign) -> None:
    ensure_not_archived(campaign)
    if not can_edit(campaign):
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
    archived: bool | None = None,
) -> tuple[list[CampaignRead], int]:
    """Archived campaigns are left out unless asked for (`archived`), or a status is."""
    statement = owned_campaigns(owner).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if campaign_type is not None:
        statement = statement.where(Campaign.campaign_type == campaign_type)
    if status is not None:
        statement = statement.where(Campaign.status == status)
    if archived is None and status is None:
        archived = False
    if archived is not None:
        statement = statement.where(
            Campaign.archived_at.is_not(None) if archived else Campaign.archived_at.is_(None)
        )
    campaigns, total = await paginate(session, statement, params)
    return await to_read_many(session, campaigns), total


async def create_campaign(
    session: AsyncSession, owner: User, data: CampaignCreate, origin: Origin
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
        details=_created_details(campaign, data.messaging_config),
        origin=origin,
    )
    return campaign


def _created_details(campaign: Campaign, cfg: MessagingConfig | None) -> dict[str, Any]:
    details: dict[str, Any] = {
        "campaign_type": campaign.campaign_type.value,
        "name": campaign.name,
        "place_ids": campaign.place_ids,
    }
    if cfg is not None:
        details["channels"] = list(cfg.channels)
        if cfg.scheduled_send_time is not None:
            details["scheduled_send_time"] = cfg.scheduled_send_time.isoformat()
    return details


def _changed(before: Any, after: Any) -> dict[str, Any]:
    return {"from": before, "to": after}


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _messaging_changes(before: MessagingConfig, after: MessagingConfig) -> dict[str, Any]:
    """What an edit changed in a messaging campaign, in the audit trail's terms."""
    changes: dict[str, Any] = {}
    if list(before.channels) != list(after.channels):
        changes["channels"] = _changed(list(before.channels), list(after.channels))
    if before.scheduled_send_time != after.scheduled_send_time:
        changes["scheduled_send_time"] = _changed(
            _iso(before.scheduled_send_time), _iso(after.scheduled_send_time)
        )
    if before.email_subject != after.email_subject:
        changes["email_subject"] = _changed(before.email_subject, after.email_subject)
    content_changed = [f for f in CONTENT_FIELDS if getattr(before, f) != getattr(after, f)]
    if content_changed:
        changes["content"] = content_changed
    return changes


async def update_campaign(
    session: AsyncSession,
    owner: User,
    campaign_id: int,
    data: CampaignUpdate,
    origin: Origin,
    now: datetime | None = None,
) -> Campaign:
    campaign = await get_owned_campaign(session, owner, campaign_id, for_update=True)
    ensure_editable(campaign)
    changed = sorted(data.model_fields_set)
    changes: dict[str, Any] = {}
    if data.name is not None and data.name.strip() != campaign.name:
        changes["name"] = _changed(campaign.name, data.name.strip())
        campaign.name = data.name.strip()
    if "description" in data.model_fields_set:
        campaign.description = data.description
    if data.place_ids is not None:
        before = campaign.place_ids
        campaign.places = await places_service.get_owned_places(session, owner, data.place_ids)
        if campaign.place_ids != before:
            changes["place_ids"] = _changed(before, campaign.place_ids)
    is_messaging = campaign.campaign_type == CampaignType.messaging
    if data.status is not None:
        if is_messaging:
            raise InvalidInput("status: a messaging campaign changes status by sending or cancel.")
        if data.status != campaign.status:
            changes["status"] = _changed(campaign.status.value, data.status.value)
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
        before_cfg = await content.load(session, campaign)
        if campaign.status == CampaignStatus.scheduled:
            send_checks.check_scheduled_edit(data.messaging_config, now)
        await content.save(session, campaign, data.messaging_config)
        after_cfg = await content.load(session, campaign)
        changes.update(_messaging_changes(before_cfg, after_cfg))
        if campaign.status == CampaignStatus.scheduled and "scheduled_send_time" in changes:
            await flow.reschedule(session, campaign, after_cfg)
    await session.flush()
    details: dict[str, Any] = {"fields": changed}
    if changes:
        details["changes"] = changes
    if campaign.status == CampaignStatus.scheduled:
        details["while_scheduled"] = True
    await audit.record(
        session,
        "campaign.updated",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details=details,
        origin=origin,
    )
    return campaign


KEPT_AS_RECORD = (
    "This campaign has sent messages, so it is kept as the record of who was messaged, when "
    "and why: it cannot be deleted. Archive it to hide it from your campaigns."
)


async def delete_campaign(
    session: AsyncSession, owner: User, campaign_id: int, origin: Origin
) -> None:
    """Delete a campaign that never sent anything; one that did is only archived."""
    campaign = await get_owned_campaign(session, owner, campaign_id, for_update=True)
    if campaign.first_sent_at is not None or campaign.status in FROZEN_STATUSES:
        raise Conflict(KEPT_AS_RECORD)
    recipient_count = await recipient_selection.count(session, campaign.id)
    await queue.cancel_waiting(session, campaign.id)  # a scheduled start must not outlive it
    # Its own events go with a draft; the deletion itself is recorded for the owner.
    await audit.forget_draft(session, campaign)
    await audit.record(
        session,
        "campaign.deleted",
        owner_id=owner.id,
        campaign_id=None,
        details={
            "campaign_id": campaign.id,
            "name": campaign.name,
            "status": campaign.status.value,
            "recipients": recipient_count,
        },
        origin=origin,
    )
    await session.delete(campaign)
    await session.flush()


async def archive_campaign(
    session: AsyncSession, owner: User, campaign_id: int, origin: Origin, *, archived: bool
) -> Campaign:
    """Hide a campaign from the default list (or bring it back); nothing else changes."""
    campaign = await get_owned_campaign(session, owner, campaign_id, for_update=True)
    if archived and can_cancel(campaign):
        raise Conflict(
            f"This campaign is {campaign.status.value}; cancel it or let it finish before "
            "archiving it."
        )
    if (campaign.archived_at is not None) == archived:
        return campaign  # already so: nothing to record
    campaign.archived_at = await session.scalar(select(func.now())) if archived else None
    await session.flush()
    await audit.record(
        session,
        "campaign.archived" if archived else "campaign.unarchived",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details={"status": campaign.status.value},
        origin=origin,
    )
    return campaign


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
            first_sent_at=c.first_sent_at,
            archived_at=c.archived_at,
            audience=c.audience,
            can_delete=c.first_sent_at is None and c.status not in FROZEN_STATUSES,
            can_edit=can_edit(c),
            can_send=can_send(c),
            can_cancel=can_cancel(c),
        )
        for c in campaigns
    ]


async def to_read(session: AsyncSession, campaign: Campaign) -> CampaignRead:
    await session.refresh(campaign)
    return (await to_read_many(session, [campaign]))[0]
