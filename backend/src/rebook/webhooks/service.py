"""What Twilio tells us after a send: delivery progress, failures, prices, STOP replies."""

from __future__ import annotations

import enum
import logging
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.channels.base import mask
from rebook.channels.errors import TWILIO_ERRORS
from rebook.messaging import flow
from rebook.models import (
    AuditActor,
    Campaign,
    CampaignDelivery,
    CampaignRecipient,
    Channel,
    DeliveryStatus,
    User,
    UserRole,
)
from rebook.unsubscribe import service as unsubscribe_service

logger = logging.getLogger(__name__)

# Twilio's message statuses in the order a message moves through them; callbacks can arrive
# out of order and are retried, so a status only ever moves forward.
PROGRESS = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
}
FINAL = {"failed", "undelivered", "canceled"}
# A delivery's error codes after a provider call that got no answer (channels: SendFailure).
UNANSWERED_CALL = ("timeout", "network")

STOP_SOURCE = "whatsapp_stop"
START_SOURCE = "whatsapp_start"


class CallbackOutcome(enum.StrEnum):
    applied = "applied"
    ignored = "ignored"  # a duplicate, or older than what we already know
    unknown = "unknown"  # no delivery matches


def callback_error_message(code: int | None) -> str:
    if code is not None and code in TWILIO_ERRORS:
        return TWILIO_ERRORS[code].message
    if code is not None:
        return f"WhatsApp did not deliver the message (Twilio error {code})."
    return "WhatsApp did not deliver the message."


def _moves_forward(current: str | None, incoming: str) -> bool:
    """Provider statuses only move forward: queued → sent → delivered → read, and a failure
    only before the message was delivered (a late `failed` never undoes a delivery)."""
    if current in FINAL:
        return False
    if incoming in FINAL:
        return PROGRESS.get(current or "", -1) < PROGRESS["delivered"]
    if incoming not in PROGRESS:
        return False
    return current is None or PROGRESS[incoming] > PROGRESS.get(current, -1)


def _price(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        # Twilio reports what was charged as a negative amount ("-0.00500").
        return abs(Decimal(value))
    except InvalidOperation:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


async def _find_delivery(
    session: AsyncSession, message_sid: str, delivery_id: int | None, to: str | None
) -> CampaignDelivery | None:
    """The delivery the callback's MessageSid names. The URL's `delivery_id` only lets a
    message id be learnt for a delivery that cannot know it yet: see `_may_learn_sid`."""
    delivery = await session.scalar(
        select(CampaignDelivery)
        .where(
            CampaignDelivery.provider_message_id == message_sid,
            CampaignDelivery.channel == Channel.whatsapp,
        )
        .with_for_update()
    )
    if delivery is not None or delivery_id is None:
        return delivery
    found = (
        await session.execute(
            select(CampaignDelivery, CampaignRecipient.customer_phone_e164)
            .join(CampaignRecipient, CampaignRecipient.id == CampaignDelivery.recipient_id)
            .where(CampaignDelivery.id == delivery_id, CampaignDelivery.channel == Channel.whatsapp)
            .with_for_update(of=CampaignDelivery)
        )
    ).first()
    if found is None:
        return None
    delivery, phone_e164 = found
    if not _may_learn_sid(delivery, phone_e164, to):
        return None
    delivery.provider_message_id = message_sid
    return delivery


def _may_learn_sid(delivery: CampaignDelivery, phone_e164: str | None, to: str | None) -> bool:
    """A message id is attached through the URL only to a delivery whose provider call has
    begun and has not told us its message id: the callback beat the engine's commit of the
    answer, or the answer came after the client gave up (a timeout or a dropped connection,
    the delivery then waiting for its retry or given up). And only for a message sent to
    the delivery's own number. Any other delivery — never called, already holding a message
    id (a resend's callback is for a message we do not count), sent, skipped, cancelled —
    is left alone, so a callback can never take over a delivery it does not name."""
    if delivery.provider_message_id is not None or delivery.provider_call_at is None:
        return False
    in_call = delivery.status == DeliveryStatus.sending
    unanswered = (
        delivery.status in (DeliveryStatus.pending, DeliveryStatus.failed)
        and delivery.error_code in UNANSWERED_CALL
    )
    if not (in_call or unanswered):
        return False
    return phone_e164 is not None and (to or "").removeprefix("whatsapp:") == phone_e164


async def apply_status_callback(
    session: AsyncSession,
    *,
    message_sid: str,
    message_status: str,
    error_code: str | None = None,
    price: str | None = None,
    delivery_id: int | None = None,
    to: str | None = None,
    idempotency_token: str | None = None,
) -> CallbackOutcome:
    """Apply one status callback. Replays and late arrivals change nothing, so Twilio's retries
    and out-of-order callbacks are safe without remembering which ones we saw. `to` is the
    callback's To (`whatsapp:+…`)."""
    delivery = await _find_delivery(session, message_sid, delivery_id, to)
    log_extra: dict[str, object] = {
        "provider_message_id": message_sid,
        "provider_status": message_status,
        "idempotency_token": idempotency_token,
    }
    if delivery is None:
        logger.info("status callback for unknown message", extra=log_extra)
        return CallbackOutcome.unknown
    log_extra["delivery_id"] = delivery.id
    log_extra["campaign_id"] = delivery.campaign_id
    status = message_status.strip().lower()
    changed = False
    if _moves_forward(delivery.provider_status, status):
        delivery.provider_status = status
        changed = True
        if status in FINAL:
            code = _int(error_code)
            delivery.error_code = str(code) if code is not None else delivery.error_code
            delivery.error_message = callback_error_message(code)
            # Also while `sending`: the callback can beat the engine's commit of the outcome,
            # whose write then finds the delivery no longer `sending` and leaves it failed.
            if delivery.status in (DeliveryStatus.sent, DeliveryStatus.sending):
                delivery.status = DeliveryStatus.failed
            if code is not None and code in TWILIO_ERRORS and TWILIO_ERRORS[code].stops_sending:
                # Twilio accepted the message and WhatsApp refused it (a paused template):
                # the campaign's other WhatsApp messages would meet the same refusal.
                await flow.stop_whatsapp(
                    session,
                    delivery.campaign_id,
                    str(code),
                    delivery.error_message,
                    by=AuditActor.system,
                )
    cost = _price(price)
    if cost is not None and cost != delivery.cost:
        delivery.cost = cost
        changed = True
    if not changed:
        logger.info("status callback ignored", extra=log_extra)
        return CallbackOutcome.ignored
    await session.flush()
    logger.info("status callback applied", extra=log_extra)
    return CallbackOutcome.applied


async def _owners_who_messaged(session: AsyncSession, phone_e164: str) -> set[tuple[int, int]]:
    """(owner, customer) of every WhatsApp delivery to this number."""
    messaged = (
        await session.execute(
            select(Campaign.owner_id, CampaignRecipient.user_id)
            .select_from(CampaignDelivery)
            .join(CampaignRecipient, CampaignRecipient.id == CampaignDelivery.recipient_id)
            .join(Campaign, Campaign.id == CampaignDelivery.campaign_id)
            .where(
                CampaignDelivery.channel == Channel.whatsapp,
                CampaignRecipient.customer_phone_e164 == phone_e164,
            )
            .distinct()
        )
    ).all()
    return {(owner_id, user_id) for owner_id, user_id in messaged}


async def _holders(session: AsyncSession, phone_e164: str) -> set[int]:
    """Customers whose profile now holds this number: the person who wrote."""
    holders = await session.scalars(
        select(User.id).where(User.phone_e164 == phone_e164, User.role == UserRole.customer)
    )
    return set(holders.all())


async def record_whatsapp_stop(
    session: AsyncSession, phone_e164: str, *, ip_address: str | None = None
) -> int:
    """Suppress WhatsApp for this number with every owner whose campaign messaged it. Returns
    how many suppressions were new."""
    pairs = await _owners_who_messaged(session, phone_e164)
    owners = {owner_id for owner_id, _ in pairs}
    holders = await _holders(session, phone_e164)
    pairs |= {(owner_id, user_id) for owner_id in owners for user_id in holders}
    recorded = 0
    for owner_id, user_id in sorted(pairs):
        recorded += await unsubscribe_service.suppress(
            session,
            owner_id=owner_id,
            user_id=user_id,
            channel=Channel.whatsapp,
            source=STOP_SOURCE,
            ip_address=ip_address,
        )
    logger.info(
        "whatsapp stop received",
        extra={"from": mask(phone_e164), "owners": len(owners), "new_suppressions": recorded},
    )
    return recorded


async def record_whatsapp_start(
    session: AsyncSession, phone_e164: str, *, ip_address: str | None = None
) -> int | None:
    """Undo a STOP: lift the WhatsApp suppressions, with every owner whose campaign messaged
    this number, of the customers whose profile holds it now (a number's earlier holder who
    stopped stays stopped). Returns how many were lifted, or None when no owner ever
    messaged the number (nothing to answer)."""
    owners = {owner_id for owner_id, _ in await _owners_who_messaged(session, phone_e164)}
    if not owners:
        return None
    holders = await _holders(session, phone_e164)
    lifted = 0
    for owner_id in sorted(owners):
        for user_id in sorted(holders):
            lifted += await unsubscribe_service.unsuppress(
                session,
                owner_id=owner_id,
                user_id=user_id,
                channel=Channel.whatsapp,
                source=START_SOURCE,
                ip_address=ip_address,
            )
    logger.info(
        "whatsapp start received",
        extra={"from": mask(phone_e164), "owners": len(owners), "lifted_suppressions": lifted},
    )
    return lifted
