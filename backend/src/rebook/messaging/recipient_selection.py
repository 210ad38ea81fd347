"""Campaign recipients and their per-channel deliveries.

Adding is one INSERT … SELECT on the server (by ids, or "everyone matching" minus exclusions):
recipients are inserted with a contact snapshot and, in the same statement, one delivery per
chosen channel. A recipient who cannot be reached on a channel keeps a `skipped` delivery with
the reason, so nobody is dropped silently."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.customers.phones import to_e164
from rebook.db import plan_for_these_values
from rebook.delivery import reasons
from rebook.errors import Conflict, InvalidInput, NotFound
from rebook.messaging.audience import CustomerFilter, eligible, eligible_once_booked
from rebook.messaging.audiences.filters import users_matching
from rebook.messaging.audiences.schemas import AudienceFilters
from rebook.models import (
    Booking,
    Campaign,
    CampaignDelivery,
    CampaignDeliveryCount,
    CampaignRecipient,
    CampaignRecipientCount,
    Channel,
    DeliveryStatus,
    MarketingSuppression,
    Place,
    User,
)

MAX_IDS_PER_REQUEST = 10_000

# Deliveries in these states mean the recipient has been (or is being) messaged.
TOUCHED_STATUSES = (DeliveryStatus.sending, DeliveryStatus.sent, DeliveryStatus.failed)


def was_attempted() -> ColumnElement[bool]:
    """A delivery that was ever tried (sent, failed, or skipped at send): part of the record,
    which the database refuses to delete (migration 2026-12-01-1700)."""
    return or_(
        CampaignDelivery.status.in_(TOUCHED_STATUSES),
        CampaignDelivery.attempts > 0,
        CampaignDelivery.earlier_attempts > 0,
    )


def _channels(campaign: Campaign) -> list[Channel]:
    return [Channel(c) for c in (campaign.config or {}).get("channels", [])]


def _initial_deliveries(campaign: Campaign, new_recipients: Any) -> Any:
    """SELECT of (campaign_id, recipient_id, channel, status, error_code, error_message) for
    each chosen channel of each recipient in `new_recipients` (recipient_id, user_id, email,
    phone, phone_e164)."""
    r = new_recipients.subquery("r")
    selects = []
    for channel in _channels(campaign):
        unsubscribed = exists(
            select(literal_column("1")).where(
                MarketingSuppression.user_id == r.c.user_id,
                MarketingSuppression.owner_id == campaign.owner_id,
                MarketingSuppression.channel == channel.value,
            )
        )
        if channel == Channel.email:
            skips = [
                (r.c.email.is_(None), reasons.NO_EMAIL),
                (unsubscribed, reasons.UNSUBSCRIBED_WHEN_ADDED[channel]),
            ]
        else:
            skips = [
                (r.c.phone.is_(None), reasons.NO_PHONE),
                (r.c.phone_e164.is_(None), reasons.INVALID_PHONE),
                (unsubscribed, reasons.UNSUBSCRIBED_WHEN_ADDED[channel]),
            ]
        # The reason is found once per delivery (OFFSET 0 keeps PostgreSQL from copying the
        # CASE, and its suppression lookup, into each of the three columns read from it).
        found = (
            select(
                r.c.recipient_id,
                case(*[(cond, literal(code)) for cond, (code, _) in skips], else_=None).label(
                    "code"
                ),
            )
            .offset(0)
            .subquery(f"{channel.value}_reasons")
        )
        selects.append(
            select(
                literal(campaign.id),
                found.c.recipient_id,
                literal(channel.value, String),
                case(
                    (found.c.code.is_(None), literal(DeliveryStatus.pending.value)),
                    else_=literal(DeliveryStatus.skipped.value),
                ),
                found.c.code,
                case(*[(found.c.code == code, literal(text_)) for _, (code, text_) in skips]),
            )
        )
    if not selects:
        return None
    return selects[0] if len(selects) == 1 else union_all(*selects)


DELIVERY_COLUMNS = [
    "campaign_id",
    "recipient_id",
    "channel",
    "status",
    "error_code",
    "error_message",
]


async def _insert_recipients(
    session: AsyncSession,
    campaign: Campaign,
    customers: ColumnElement[bool],
    *,
    everyone_matching: bool = False,
) -> int:
    """Insert the customers `customers` (a WHERE clause over users) selects and their
    per-channel deliveries, in one statement; returns how many recipients were new. Each
    recipient keeps the campaign place they booked at last.

    With `everyone_matching`, `customers` is `eligible_once_booked` and the selector's other
    filters: the statement joins each customer to their last booking at the campaign's places,
    found in one pass over those bookings, and that join is the rule's "booked at". Otherwise
    (a few ids) `customers` is the whole rule, and each last booking one index lookup.

    One statement, so that each new recipient is read once, its deliveries built from the row
    just inserted, and the selection is complete (ready to send) when the request answers."""
    # Its estimated cost always crosses jit_above_cost, and compiling this plan costs more
    # than it saves: one insert, each row visited once.
    await session.execute(text("SET LOCAL jit = off"))
    # Planned for the places and filter it carries; the references of the written rows are
    # checked once per statement (no per-row check to plan again).
    await plan_for_these_values(session)
    place_ids = campaign.place_ids
    contact = (User.first_name, User.last_name, User.email, User.phone, User.phone_e164)
    if everyone_matching:
        last_booking = (
            select(Booking.user_id, Booking.place_id)
            .where(Booking.place_id.in_(place_ids))
            .ext(distinct_on(Booking.user_id))
            .order_by(Booking.user_id, Booking.starts_at.desc())
            .subquery("last_booking")
        )
        source = (
            select(literal(campaign.id), User.id, last_booking.c.place_id, *contact)
            .join(last_booking, last_booking.c.user_id == User.id)
            .where(customers)
        )
    else:
        last_place = (
            select(Booking.place_id)
            .where(Booking.user_id == User.id, Booking.place_id.in_(place_ids))
            .order_by(Booking.starts_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        source = select(literal(campaign.id), User.id, last_place, *contact).where(customers)
    r = CampaignRecipient
    new = (
        insert(r)
        .from_select(
            [
                "campaign_id",
                "user_id",
                "place_id",
                "customer_first_name",
                "customer_last_name",
                "customer_email",
                "customer_phone",
                "customer_phone_e164",
            ],
            source,
            include_defaults=False,
        )
        .on_conflict_do_nothing(index_elements=["campaign_id", "user_id"])
        .returning(
            r.id.label("recipient_id"),
            r.user_id.label("user_id"),
            r.customer_email.label("email"),
            r.customer_phone.label("phone"),
            r.customer_phone_e164.label("phone_e164"),
            r.place_id.label("place_id"),
        )
        .cte("new_recipients")
    )
    deliveries = _initial_deliveries(
        campaign,
        select(new.c.recipient_id, new.c.user_id, new.c.email, new.c.phone, new.c.phone_e164),
    )
    ctes: list[Any] = [new]
    if deliveries is not None:
        # The recipients are new: none of them has a delivery to conflict with.
        written = (
            insert(CampaignDelivery)
            .from_select(DELIVERY_COLUMNS, deliveries, include_defaults=False)
            .cte("new_deliveries")
        )
        ctes.append(written)
    unread = and_(new.c.phone.is_not(None), new.c.phone_e164.is_(None))
    summary = select(
        func.count(),
        func.array_agg(new.c.recipient_id).filter(unread),
        func.array_agg(new.c.phone).filter(unread),
        func.array_agg(new.c.place_id).filter(unread),
    ).select_from(new)
    for cte in ctes[1:]:
        summary = summary.add_cte(cte)
    added, unread_ids, phones, places = (await session.execute(summary)).one()
    if unread_ids:
        await _read_phones_again(
            session, campaign, list(zip(unread_ids, phones, places, strict=True))
        )
    return int(added)


async def _read_phones_again(
    session: AsyncSession, campaign: Campaign, unread: list[tuple[int, str, int | None]]
) -> None:
    """New recipients whose stored E.164 is missing get a second reading with their campaign
    place's country; those it reads get their WhatsApp delivery again, for that number."""
    countries = dict(
        (
            await session.execute(
                select(Place.id, Place.country_code).where(
                    Place.id.in_({p for _, _, p in unread if p is not None})
                )
            )
        ).all()
    )
    read = [
        (recipient_id, e164)
        for recipient_id, phone, place_id in unread
        if place_id in countries and (e164 := to_e164(phone, countries[place_id])) is not None
    ]
    if not read:
        return
    for recipient_id, e164 in read:
        await session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.id == recipient_id)
            .values(customer_phone_e164=e164)
        )
    ids = [recipient_id for recipient_id, _ in read]
    await session.execute(
        delete(CampaignDelivery).where(
            CampaignDelivery.recipient_id.in_(ids),
            CampaignDelivery.channel == Channel.whatsapp.value,
            CampaignDelivery.error_code == reasons.INVALID_PHONE.code,
        )
    )
    await prepare_deliveries(session, campaign, ids)


async def prepare_deliveries(
    session: AsyncSession, campaign: Campaign, recipient_ids: Sequence[int] | None = None
) -> None:
    """Give these recipients (default: every recipient that has none yet) one delivery per
    chosen channel, skipped with the reason where the channel cannot reach them."""
    r = CampaignRecipient
    scope = [r.campaign_id == campaign.id]
    if recipient_ids is not None:
        scope.append(r.id.in_(recipient_ids))
    else:
        if await _deliveries_complete(session, campaign):
            return  # the usual case at a send's start: skip two scans of every recipient
        scope.append(
            ~exists(select(literal_column("1")).where(CampaignDelivery.recipient_id == r.id))
        )
    await _read_unread_phones(session, scope)
    rows = select(
        r.id.label("recipient_id"),
        r.user_id.label("user_id"),
        r.customer_email.label("email"),
        r.customer_phone.label("phone"),
        r.customer_phone_e164.label("phone_e164"),
    ).where(*scope)
    deliveries = _initial_deliveries(campaign, rows)
    if deliveries is not None:
        await session.execute(
            insert(CampaignDelivery)
            .from_select(DELIVERY_COLUMNS, deliveries, include_defaults=False)
            .on_conflict_do_nothing(index_elements=["recipient_id", "channel"])
        )


async def _deliveries_complete(session: AsyncSession, campaign: Campaign) -> bool:
    """Whether every recipient has its deliveries, from counts alone: a delivery is unique per
    (recipient, channel), so (recipients times chosen channels) deliveries on those channels means
    none is missing. (Reads the trigger-kept counters and one count of recipients, where
    looking for recipients without deliveries reads every recipient and every delivery.)"""
    channels = [c.value for c in _channels(campaign)]
    deliveries = await session.scalar(
        select(func.coalesce(func.sum(CampaignDeliveryCount.count), 0)).where(
            CampaignDeliveryCount.campaign_id == campaign.id,
            CampaignDeliveryCount.channel.in_(channels),
        )
    )
    return int(deliveries or 0) == await count(session, campaign.id) * len(channels)


async def has_any(session: AsyncSession, campaign_id: int) -> bool:
    found = await session.scalar(
        select(literal(True)).where(CampaignRecipient.campaign_id == campaign_id).limit(1)
    )
    return bool(found)


async def _read_unread_phones(session: AsyncSession, scope: list[ColumnElement[bool]]) -> None:
    """Recipients (in `scope`, before their deliveries exist) whose stored E.164 is missing
    get a second reading with their campaign place's country."""
    rows = (
        await session.execute(
            select(CampaignRecipient.id, CampaignRecipient.customer_phone, Place.country_code)
            .join(Place, Place.id == CampaignRecipient.place_id)
            .where(
                *scope,
                CampaignRecipient.customer_phone.is_not(None),
                CampaignRecipient.customer_phone_e164.is_(None),
            )
        )
    ).all()
    for recipient_id, phone, country in rows:
        e164 = to_e164(phone, country)
        if e164 is not None:
            await session.execute(
                update(CampaignRecipient)
                .where(CampaignRecipient.id == recipient_id)
                .values(customer_phone_e164=e164)
            )


async def add_by_ids(
    session: AsyncSession,
    campaign: Campaign,
    user_ids: Sequence[int],
    audience: AudienceFilters | None = None,
    now: datetime | None = None,
) -> int:
    """Add these customers; every id must be eligible and in the audience (else InvalidInput
    naming them), and the owner's customer (else NotFound)."""
    wanted = sorted(set(user_ids))
    if len(wanted) > MAX_IDS_PER_REQUEST:
        raise InvalidInput(
            f"user_ids: at most {MAX_IDS_PER_REQUEST} ids per request; use select_all for more."
        )
    where = and_(
        User.id.in_(wanted),
        eligible(campaign.owner_id, campaign.place_ids),
        _in_audience(campaign, audience, now),
    )
    found = set((await session.scalars(select(User.id).where(where))).all())
    refused = [i for i in wanted if i not in found]
    if refused:
        # Someone who never booked at the owner's places is another owner's: not found.
        known = set(
            (
                await session.scalars(
                    select(Booking.user_id)
                    .join(Place, Place.id == Booking.place_id)
                    .where(Place.owner_id == campaign.owner_id, Booking.user_id.in_(refused))
                )
            ).all()
        )
        if unknown := [i for i in refused if i not in known]:
            raise NotFound(f"Customer not found: {', '.join(map(str, unknown))}.")
        raise InvalidInput(
            "user_ids: these customers cannot be messaged from this campaign's places "
            f"(no booking there, no marketing consent, unsubscribed, or not in the audience): "
            f"{', '.join(map(str, refused))}.",
            extra={"errors": [{"field": "user_ids", "message": "not eligible", "ids": refused}]},
        )
    return await _insert_recipients(session, campaign, where)


async def add_matching(
    session: AsyncSession,
    campaign: Campaign,
    filter_by: CustomerFilter,
    search: str | None,
    exclude_user_ids: Sequence[int],
    audience: AudienceFilters | None = None,
    now: datetime | None = None,
) -> int:
    """Add everyone matching the selector's filter and the audience at the campaign's places,
    minus exclusions."""
    where: ColumnElement[bool] = and_(
        eligible_once_booked(campaign.owner_id, filter_by, search),
        _in_audience(campaign, audience, now),
    )
    if exclude_user_ids:
        where = and_(where, User.id.not_in(sorted(set(exclude_user_ids))))
    return await _insert_recipients(session, campaign, where, everyone_matching=True)


def _in_audience(
    campaign: Campaign, audience: AudienceFilters | None, now: datetime | None
) -> ColumnElement[bool]:
    if audience is None or audience.is_empty():
        return true()
    return users_matching(campaign.owner_id, audience, now or datetime.now(UTC))


async def sync_channels(session: AsyncSession, campaign: Campaign) -> None:
    """After the channels changed: give every recipient a delivery for each chosen channel and
    drop untouched deliveries of channels no longer chosen."""
    channels = [c.value for c in _channels(campaign)]
    await session.execute(
        delete(CampaignDelivery).where(
            CampaignDelivery.campaign_id == campaign.id,
            CampaignDelivery.channel.not_in(channels),
            CampaignDelivery.status.in_([DeliveryStatus.pending, DeliveryStatus.skipped]),
            ~was_attempted(),
        )
    )
    existing = select(
        CampaignRecipient.id.label("recipient_id"),
        CampaignRecipient.user_id.label("user_id"),
        CampaignRecipient.customer_email.label("email"),
        CampaignRecipient.customer_phone.label("phone"),
        CampaignRecipient.customer_phone_e164.label("phone_e164"),
    ).where(CampaignRecipient.campaign_id == campaign.id)
    deliveries = _initial_deliveries(campaign, existing)
    if deliveries is not None:
        await session.execute(
            insert(CampaignDelivery)
            .from_select(DELIVERY_COLUMNS, deliveries, include_defaults=False)
            .on_conflict_do_nothing(index_elements=["recipient_id", "channel"])
        )


async def count(session: AsyncSession, campaign_id: int) -> int:
    """The campaign's number of recipients, from the trigger-kept counter (exact)."""
    return int(
        await session.scalar(
            select(CampaignRecipientCount.count).where(
                CampaignRecipientCount.campaign_id == campaign_id
            )
        )
        or 0
    )


async def remove_one(session: AsyncSession, campaign: Campaign, recipient_id: int) -> int:
    """Remove a recipient nobody tried to message yet; returns the customer's id."""
    recipient = await session.scalar(
        select(CampaignRecipient).where(
            CampaignRecipient.id == recipient_id, CampaignRecipient.campaign_id == campaign.id
        )
    )
    if recipient is None:
        raise NotFound(f"Recipient {recipient_id} not found in this campaign.")
    touched = await session.scalar(
        select(func.count())
        .select_from(CampaignDelivery)
        .where(
            CampaignDelivery.recipient_id == recipient_id,
            was_attempted(),
        )
    )
    if touched:
        raise Conflict("This recipient has already been messaged and can no longer be removed.")
    user_id = recipient.user_id
    await session.delete(recipient)
    await session.flush()
    return user_id


async def remove_all_pending(session: AsyncSession, campaign: Campaign) -> int:
    """Remove every recipient not yet messaged (to start the selection over)."""
    touched = exists(
        select(literal_column("1")).where(
            CampaignDelivery.recipient_id == CampaignRecipient.id,
            was_attempted(),
        )
    )
    result = await session.execute(
        delete(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == campaign.id, ~touched)
        .returning(CampaignRecipient.id)
    )
    return len(result.all())
