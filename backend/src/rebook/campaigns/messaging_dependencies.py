from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from rebook.auth.dependencies import CurrentOwner
from rebook.campaigns import service as campaigns_service
from rebook.db import SessionDep
from rebook.inputs import Id
from rebook.messaging.send_checks import ensure_messaging
from rebook.models import Campaign


async def owned_messaging_campaign(
    session: SessionDep, owner: CurrentOwner, campaign_id: Id
) -> Campaign:
    """The owner's messaging campaign, read without a lock (a read never waits on a worker
    sending it, nor on other readers); else 404 / 422."""
    campaign = await campaigns_service.get_owned_campaign(session, owner, campaign_id)
    ensure_messaging(campaign)
    return campaign


async def owned_messaging_campaign_for_change(
    session: SessionDep, owner: CurrentOwner, campaign_id: Id
) -> Campaign:
    """The owner's messaging campaign, locked until this request's changes commit, so that
    two changes of one campaign (or a change and the worker's start) never interleave."""
    campaign = await campaigns_service.get_owned_campaign(
        session, owner, campaign_id, for_update=True
    )
    ensure_messaging(campaign)
    return campaign


MessagingCampaign = Annotated[Campaign, Depends(owned_messaging_campaign)]
MessagingCampaignForChange = Annotated[Campaign, Depends(owned_messaging_campaign_for_change)]
