"""Provider webhooks (bounces and complaints, signature-checked: 403 and nothing changes
otherwise) and what the owner sees of their deliverability: complaint rate, hold, the
customers suppressed and why, their own sender address."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request, Response

from rebook.auth.dependencies import CurrentOwner
from rebook.config import get_settings
from rebook.db import SessionDep
from rebook.deliverability import from_address, holds, providers, suppressions
from rebook.deliverability.schemas import (
    DeliverabilityRead,
    EmailSenderRead,
    EmailSenderUpdate,
    SuppressionRead,
)
from rebook.deliverability.service import apply_reports
from rebook.errors import Forbidden
from rebook.pagination import Page, PageParamsDep

logger = logging.getLogger(__name__)

webhooks = APIRouter(prefix="/webhooks", tags=["webhooks"])
owner_router = APIRouter(prefix="/owner", tags=["deliverability"])

SIGNATURE_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "Missing or invalid provider signature"}
}


@webhooks.post("/ses", status_code=204, responses=SIGNATURE_RESPONSES)
async def receive_ses_notification(request: Request, session: SessionDep) -> Response:
    """Amazon SES bounce and complaint notifications, through an SNS topic subscribed to
    this URL (HTTPS). The SNS signature is checked against Amazon's certificate."""
    settings = get_settings()
    try:
        message = await providers.verify_sns(await request.body(), settings)
        if message.type == "SubscriptionConfirmation" and message.subscribe_url:
            await providers.confirm_subscription(message.subscribe_url, settings)
            return Response(status_code=204)
    except providers.BadSignature as exc:
        logger.warning("ses webhook refused", extra={"reason": str(exc)})
        raise Forbidden("This request is not signed by Amazon SNS.") from None
    if message.type == "Notification":
        await apply_reports(session, providers.ses_reports(message.message), "ses", settings)
    return Response(status_code=204)


@webhooks.post("/mailgun", status_code=204, responses=SIGNATURE_RESPONSES)
async def receive_mailgun_event(request: Request, session: SessionDep) -> Response:
    """Mailgun's `failed` and `complained` webhooks, signed with the webhook signing key."""
    settings = get_settings()
    try:
        payload = json.loads(await request.body())
        providers.verify_mailgun(payload, settings)
    except (ValueError, providers.BadSignature) as exc:
        logger.warning("mailgun webhook refused", extra={"reason": str(exc)})
        raise Forbidden("This request is not signed by Mailgun.") from None
    await apply_reports(session, providers.mailgun_reports(payload), "mailgun", settings)
    return Response(status_code=204)


@owner_router.get("/deliverability")
async def get_deliverability(session: SessionDep, owner: CurrentOwner) -> DeliverabilityRead:
    """The complaint rate of the owner's emails, and whether they are held."""
    settings = get_settings()
    rate = await holds.complaint_rate(session, owner.id, settings)
    hold = await holds.open_hold(session, owner.id)
    warning = rate.rate > settings.complaint_rate_warning
    message = None
    if hold is not None:
        message = holds.held_message(hold, settings)
    elif warning:
        message = (
            f"{rate.rate:.2%} of your emails were marked as spam over the last "
            f"{rate.window_days} days. Above {settings.complaint_rate_hold:.1%} your emails "
            "are held: send only to customers who expect your emails."
        )
    return DeliverabilityRead(
        window_days=rate.window_days,
        emails=rate.emails,
        complaints=rate.complaints,
        complaint_rate=round(rate.rate, 6),
        warning_rate=settings.complaint_rate_warning,
        hold_rate=settings.complaint_rate_hold,
        warning=warning,
        held=hold is not None,
        held_since=hold.created_at if hold else None,
        message=message,
    )


@owner_router.get("/suppressions")
async def list_suppressions(
    session: SessionDep, owner: CurrentOwner, params: PageParamsDep
) -> Page[SuppressionRead]:
    """The owner's customers who are no longer messaged on a channel, why and since when."""
    items, total = await suppressions.page(session, owner.id, params.limit, params.offset)
    return Page[SuppressionRead].build(items, total, params)


@owner_router.get("/email-sender")
async def get_email_sender(owner: CurrentOwner) -> EmailSenderRead:
    return EmailSenderRead(
        sender_email=owner.sender_email,
        verified_domains=sorted(get_settings().sender_domains()),
    )


@owner_router.put("/email-sender", responses={422: {"description": "Not a verified domain"}})
async def set_email_sender(
    session: SessionDep, owner: CurrentOwner, data: EmailSenderUpdate
) -> EmailSenderRead:
    """The owner's own From address, on a domain the operator verified; null: the platform's."""
    await from_address.set_sender_email(session, owner, data.sender_email, get_settings())
    return await get_email_sender(owner)
