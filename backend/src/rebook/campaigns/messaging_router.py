from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.auth.dependencies import CurrentOwner
from rebook.campaigns import service as campaigns_service
from rebook.campaigns.messaging_dependencies import MessagingCampaign, MessagingCampaignForChange
from rebook.campaigns.schemas import CampaignRead
from rebook.config import get_settings
from rebook.db import SessionDep, get_session
from rebook.inputs import Id
from rebook.messaging import (
    customers,
    flow,
    preview,
    recipient_report,
    recipient_selection,
    send_checks,
    stats,
    test_send,
)
from rebook.messaging.audience import CustomerFilter
from rebook.messaging.audiences import service as audiences_service
from rebook.messaging.audiences.dependencies import AudienceFiltersQuery
from rebook.messaging.schemas import (
    AddRecipientsRequest,
    ChannelName,
    CustomerPage,
    MessagingStatsResponse,
    PreviewRequest,
    RecipientPage,
    RecipientPagination,
    RecipientsChanged,
)
from rebook.models import DeliveryStatus
from rebook.pagination import Page, PageParamsDep
from rebook.places import service as places_service
from rebook.request_context import ClientOrigin, Now

router = APIRouter(prefix="/owner/campaigns", tags=["messaging"])

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "No such campaign, place or recipient"}}
CONFLICT: Responses = {409: {"description": "The campaign's state does not allow this"}}


@router.get("/messaging/customers", responses=NOT_FOUND)
async def get_messaging_campaign_customers(
    session: SessionDep,
    owner: CurrentOwner,
    params: PageParamsDep,
    now: Now,
    history: AudienceFiltersQuery,
    place_ids: Annotated[list[Id], Query(min_length=1, max_length=500)],
    filter_by: CustomerFilter = CustomerFilter.all,
    search: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CustomerPage:
    """Customers who booked at these places (all the owner's), gave marketing consent and can
    be reached, narrowed by the booking-history filters; in name order, each once, with why
    they match."""
    places = await places_service.get_owned_places(session, owner, place_ids)
    names = await audiences_service.check_filters(session, owner, history)
    items, total, next_cursor = await customers.list_eligible(
        session,
        owner.id,
        places,
        filter_by,
        search,
        limit=params.limit,
        offset=params.offset,
        cursor=cursor,
        history=history,
        now=now,
        names=names,
    )
    page = Page[Any].build([], total, params)
    return CustomerPage(items=items, pagination=page.pagination, next_cursor=next_cursor)


@router.post("/{campaign_id}/recipients", responses={**NOT_FOUND, **CONFLICT})
async def add_campaign_recipients(
    session: SessionDep,
    owner: CurrentOwner,
    campaign: MessagingCampaignForChange,
    data: AddRecipientsRequest,
    origin: ClientOrigin,
    now: Now,
) -> RecipientsChanged:
    """Add customers by id, or everyone matching the selector's filter minus exclusions; with
    an audience, only its customers, and the campaign records the audience (checked again at
    send)."""
    campaigns_service.ensure_editable(campaign)
    audience = await audiences_service.select_with(
        session, owner, campaign, data.audience, data.saved_audience_id, data.user_ids
    )
    if data.user_ids is not None:
        added = await recipient_selection.add_by_ids(
            session, campaign, data.user_ids, audience, now
        )
        details: dict[str, Any] = {
            "by": "ids",
            "count": added,
            "requested": len(set(data.user_ids)),
            "user_ids": sorted(set(data.user_ids)),
        }
    else:
        assert data.select_all is not None
        selection = data.select_all
        added = await recipient_selection.add_matching(
            session,
            campaign,
            CustomerFilter(selection.filter_by),
            selection.search,
            selection.exclude_user_ids,
            audience,
            now,
        )
        details = {
            "by": "select_all",
            "count": added,
            "filter_by": selection.filter_by,
            "search": selection.search,
            "excluded": len(set(selection.exclude_user_ids)),
            "excluded_user_ids": sorted(set(selection.exclude_user_ids)),
        }
    details["place_ids"] = campaign.place_ids
    details["channels"] = (campaign.config or {}).get("channels", [])
    if campaign.audience:
        details["audience"] = campaign.audience
    await audit.record(
        session,
        "campaign.recipients_added",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details=details,
        origin=origin,
    )
    return RecipientsChanged(
        added=added, total_recipients=await recipient_selection.count(session, campaign.id)
    )


@router.delete("/{campaign_id}/recipients", responses={**NOT_FOUND, **CONFLICT})
async def remove_all_campaign_recipients(
    session: SessionDep,
    owner: CurrentOwner,
    campaign: MessagingCampaignForChange,
    origin: ClientOrigin,
) -> RecipientsChanged:
    """Remove every recipient not yet messaged (to start the selection over)."""
    campaigns_service.ensure_editable(campaign)
    removed = await recipient_selection.remove_all_pending(session, campaign)
    # Starting the selection over: the next one says its own audience.
    campaign.audience = None
    await audit.record(
        session,
        "campaign.recipients_removed",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details={"count": removed, "all": True},
        origin=origin,
    )
    return RecipientsChanged(
        removed=removed, total_recipients=await recipient_selection.count(session, campaign.id)
    )


@router.get("/{campaign_id}/recipients", responses=NOT_FOUND)
async def get_campaign_recipients(
    session: SessionDep,
    campaign: MessagingCampaign,
    params: PageParamsDep,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    channel: ChannelName | None = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> RecipientPage:
    """A page of the campaign's recipients in a stable order; with `cursor` (the previous
    page's `next_cursor`), the page after it."""
    items, total, next_cursor = await recipient_report.list_page(
        session, campaign, status_, channel, params.limit, params.offset, cursor
    )
    max_page = None if total is None else max(1, -(-total // params.limit))
    return RecipientPage(
        items=items,
        pagination=RecipientPagination(
            total_count=total, max_page=max_page, page=params.page, limit=params.limit
        ),
        next_cursor=next_cursor,
    )


# The CSV streams after the handler returns, so its session lives until the response is sent.
StreamingSession = Annotated[AsyncSession, Depends(get_session, scope="request")]


@router.get(
    "/{campaign_id}/recipients/export.csv",
    responses={**NOT_FOUND, 200: {"content": {"text/csv": {}}}},
    response_class=StreamingResponse,
)
async def export_campaign_recipients(
    session: StreamingSession,
    owner: CurrentOwner,
    campaign_id: Id,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    channel: ChannelName | None = None,
) -> StreamingResponse:
    """Recipients with their per-channel outcome, one row per channel, as CSV (UTF-8 with a
    byte order mark, so that spreadsheets read accents right; cells that a spreadsheet would
    run as a formula start with a single quote)."""
    campaign = await campaigns_service.get_owned_campaign(session, owner, campaign_id)
    send_checks.ensure_messaging(campaign)

    async def lines() -> AsyncIterator[str]:
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        writer.writerow(recipient_report.CSV_HEADER)
        async for row in recipient_report.export_rows(session, campaign, status_, channel):
            writer.writerow(row)
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": recipient_report.export_filename(campaign)},
    )


@router.delete(
    "/{campaign_id}/recipients/{recipient_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CONFLICT},
)
async def remove_campaign_recipient(
    session: SessionDep,
    owner: CurrentOwner,
    campaign: MessagingCampaignForChange,
    recipient_id: Id,
    origin: ClientOrigin,
) -> None:
    """Remove one recipient who has not been messaged yet."""
    user_id = await recipient_selection.remove_one(session, campaign, recipient_id)
    await audit.record(
        session,
        "campaign.recipients_removed",
        owner_id=owner.id,
        campaign_id=campaign.id,
        details={"count": 1, "recipient_id": recipient_id, "user_id": user_id},
        origin=origin,
    )


@router.post("/{campaign_id}/preview", responses=NOT_FOUND)
async def preview_campaign(
    session: SessionDep, campaign: MessagingCampaign, now: Now, data: PreviewRequest | None = None
) -> preview.PreviewResponse:
    """The messages as one recipient (or customer, or a sample) will receive them; on
    WhatsApp, the free text or the template, as their 24-hour window decides now."""
    user_id = data.user_id if data else None
    return await preview.preview(session, campaign, user_id, get_settings(), now)


@router.post(
    "/{campaign_id}/test-send",
    responses={
        **NOT_FOUND,
        429: {"description": "Too many test sends this hour"},
        502: {"description": "The relay or Twilio refused the test"},
    },
)
async def send_test_message(
    session: SessionDep,
    owner: CurrentOwner,
    campaign: MessagingCampaign,
    data: test_send.TestSendRequest,
    origin: ClientOrigin,
) -> test_send.TestSendResult:
    """Send the campaign's message, as its first recipient would get it, to the owner's own
    address or number; marked as a test and not counted in the campaign."""
    return await test_send.send_test(session, owner, campaign, data.channel, get_settings(), origin)


@router.get("/{campaign_id}/send-summary", responses=NOT_FOUND)
async def get_send_summary(
    session: SessionDep,
    campaign: MessagingCampaign,
    now: Now,
    send_immediately: Annotated[
        bool | None,
        Query(
            description="Check for a send now (true) or at the saved time (false); unset: as saved"
        ),
    ] = None,
) -> send_checks.SendSummary:
    """What sending would do (recipients per channel, skipped ones, estimated cost; on
    WhatsApp, how many get the free text, the template, or nothing: outside their 24-hour
    window with no template, as the windows stand now) and the checks it must pass, each
    with what is there or missing."""
    return await send_checks.summary(
        session, campaign, get_settings(), send_immediately=send_immediately, now=now
    )


@router.post("/{campaign_id}/send", responses={**NOT_FOUND, **CONFLICT})
async def send_messaging_campaign(
    session: SessionDep,
    owner: CurrentOwner,
    campaign: MessagingCampaignForChange,
    origin: ClientOrigin,
    send_immediately: bool = False,
) -> CampaignRead:
    """Send now, or schedule at the campaign's `scheduled_send_time`."""
    campaigns_service.ensure_not_archived(campaign)
    await flow.request_send(session, owner, campaign, send_immediately, origin, get_settings())
    return await campaigns_service.to_read(session, campaign)


class CampaignCancelled(CampaignRead):
    # Messages already on their way to the provider when the cancel took effect: they may
    # still arrive (and are reported as they end); no other message of the campaign leaves.
    messages_under_way: int


@router.post("/{campaign_id}/cancel", responses={**NOT_FOUND, **CONFLICT})
async def cancel_messaging_campaign(
    session: SessionDep,
    owner: CurrentOwner,
    campaign: MessagingCampaignForChange,
    origin: ClientOrigin,
) -> CampaignCancelled:
    """Cancel a scheduled or sending campaign; what was sent stays sent."""
    under_way = await flow.cancel(session, owner, campaign, origin)
    read = await campaigns_service.to_read(session, campaign)
    return CampaignCancelled(**read.model_dump(), messages_under_way=under_way)


class RetryFailedResponse(BaseModel):
    retried: int


@router.post("/{campaign_id}/retry-failed", responses={**NOT_FOUND, **CONFLICT})
async def retry_failed_deliveries(
    session: SessionDep,
    owner: CurrentOwner,
    campaign: MessagingCampaignForChange,
    origin: ClientOrigin,
) -> RetryFailedResponse:
    """Send the failed messages of a finished campaign again."""
    campaigns_service.ensure_not_archived(campaign)
    retried = await flow.retry_failed(session, owner, campaign, origin)
    return RetryFailedResponse(retried=retried)


@router.get("/{campaign_id}/messaging-stats", responses=NOT_FOUND)
async def get_messaging_campaign_stats(
    session: SessionDep, campaign: MessagingCampaign
) -> MessagingStatsResponse:
    return await stats.campaign_stats(session, campaign, get_settings())
