"""Reading a campaign's recipients: the paginated list with each channel's outcome, and the
CSV export streamed from a server-side cursor."""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.errors import InvalidInput
from rebook.inputs import parse_id
from rebook.messaging import recipient_selection
from rebook.messaging.schemas import CampaignRecipientResponse, ChannelName, DeliveryRead
from rebook.models import (
    Campaign,
    CampaignDelivery,
    CampaignDeliveryCount,
    CampaignRecipient,
    DeliveryStatus,
)


def _statuses(status: DeliveryStatus) -> list[str]:
    if status == DeliveryStatus.pending:
        return [status.value, DeliveryStatus.sending.value]  # in flight is still pending
    return [status.value]


def encode_cursor(user_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([user_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        (user_id,) = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return parse_id(user_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor: this is not a cursor returned by the previous page.") from exc


def _recipients_query(
    campaign_id: int, status: DeliveryStatus | None, channel: ChannelName | None
) -> Select[Any]:
    statement = select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign_id)
    if status is not None or channel is not None:
        conditions = [CampaignDelivery.recipient_id == CampaignRecipient.id]
        if status is not None:
            conditions.append(CampaignDelivery.status.in_(_statuses(status)))
        if channel is not None:
            conditions.append(CampaignDelivery.channel == channel)
        statement = statement.where(exists(select(literal_column("1")).where(*conditions)))
    # The order of the campaign's unique (campaign_id, user_id) index: a page is read from it,
    # where ordering by the recipient's id sorted every recipient of the campaign.
    return statement.order_by(CampaignRecipient.user_id)


async def count_matching(
    session: AsyncSession,
    campaign: Campaign,
    status: DeliveryStatus | None,
    channel: ChannelName | None,
) -> int | None:
    """How many recipients the list holds, from the trigger-kept counters: the recipients;
    or the deliveries on a channel (one per recipient and channel), in some statuses. None
    for a status that several channels hold: a recipient sent on both channels is one
    recipient, and only reading every delivery in that status could tell how many."""
    if status is None and channel is None:
        return await recipient_selection.count(session, campaign.id)
    per_channel = dict(
        (
            await session.execute(
                select(CampaignDeliveryCount.channel, func.sum(CampaignDeliveryCount.count))
                .where(
                    CampaignDeliveryCount.campaign_id == campaign.id,
                    *(
                        []
                        if status is None
                        else [CampaignDeliveryCount.status.in_(_statuses(status))]
                    ),
                )
                .group_by(CampaignDeliveryCount.channel)
            )
        ).all()
    )
    if channel is not None:
        return int(per_channel.get(channel) or 0)
    nonzero = [int(n) for n in per_channel.values() if n]
    if len(nonzero) <= 1:
        return sum(nonzero)
    return None


_SHOWN_RECIPIENT = (
    CampaignRecipient.id,
    CampaignRecipient.user_id,
    CampaignRecipient.customer_first_name,
    CampaignRecipient.customer_last_name,
    CampaignRecipient.customer_email,
    CampaignRecipient.customer_phone,
    CampaignRecipient.place_id,
    CampaignRecipient.created_at,
)
_SHOWN_DELIVERY = (
    CampaignDelivery.recipient_id,
    *(getattr(CampaignDelivery, name) for name in DeliveryRead.model_fields),
)


async def list_page(
    session: AsyncSession,
    campaign: Campaign,
    status: DeliveryStatus | None,
    channel: ChannelName | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
) -> tuple[list[CampaignRecipientResponse], int | None, str | None]:
    """One page (by offset, or after `cursor`), the total when the counters know it, and the
    cursor of the next page (None on the last one)."""
    after = decode_cursor(cursor) if cursor else None
    total = await count_matching(session, campaign, status, channel)
    if after is None and total is not None and offset >= total:
        return [], total, None
    # One row more than the page: whether there is a next page, without counting. The
    # columns shown, not ORM objects (a page is read every 2 s while a campaign sends).
    statement = (
        _recipients_query(campaign.id, status, channel)
        .with_only_columns(*_SHOWN_RECIPIENT)
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(CampaignRecipient.user_id > after)
    else:
        statement = statement.offset(offset)
    found = (await session.execute(statement)).all()
    recipients_ = found[:limit]
    deliveries = (
        await session.execute(
            select(*_SHOWN_DELIVERY)
            .where(CampaignDelivery.recipient_id.in_([r.id for r in recipients_]))
            .order_by(CampaignDelivery.channel)
        )
    ).all()
    by_recipient: dict[int, list[Any]] = {}
    for d in deliveries:
        by_recipient.setdefault(d.recipient_id, []).append(d)
    items = [to_response(r, by_recipient.get(r.id, [])) for r in recipients_]
    next_cursor = encode_cursor(recipients_[-1].user_id) if len(found) > limit else None
    return items, total, next_cursor


# The status shown for a recipient: the one an owner most needs to see first.
_STATUS_PRIORITY = ["failed", "sending", "pending", "sent", "skipped", "cancelled"]


def overall_status(deliveries: Sequence[Any]) -> str:
    statuses = {d.status for d in deliveries}
    if not statuses:
        return DeliveryStatus.pending.value
    if "sending" in statuses:
        statuses.add("pending")
    for status in _STATUS_PRIORITY:
        if status in statuses and status != "sending":
            return status
    return DeliveryStatus.pending.value


def to_response(recipient: Any, deliveries: Sequence[Any]) -> CampaignRecipientResponse:
    """A recipient row and its delivery rows (the columns list_page reads) as shown."""
    sent_times = [d.sent_at for d in deliveries if d.sent_at]
    errors = [f"{d.channel}: {d.error_message}" for d in deliveries if d.error_message]
    return CampaignRecipientResponse(
        id=recipient.id,
        user_id=recipient.user_id,
        name=f"{recipient.customer_first_name} {recipient.customer_last_name}".strip(),
        customer_email=recipient.customer_email,
        customer_phone=recipient.customer_phone,
        place_id=recipient.place_id,
        status=overall_status(deliveries),
        sent_at=min(sent_times) if sent_times else None,
        error_message="; ".join(errors) or None,
        deliveries=[DeliveryRead.model_validate(d) for d in deliveries],
        created_at=recipient.created_at,
    )


# A spreadsheet reads a cell starting with one of these as a formula (CSV injection): such a
# cell is written after a single quote, as OWASP advises, so it shows as the text it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What a file name may not hold on some system, and what is left out of the ASCII fallback.
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_NOT_PLAIN_ASCII = re.compile(r"[^A-Za-z0-9._]+")


def csv_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def export_filename(campaign: Campaign, now: datetime | None = None) -> str:
    """`Content-Disposition` for the export: named after the campaign and the day (at its first
    place), with a plain ASCII fallback for clients that ignore `filename*` (RFC 6266)."""
    zone = ZoneInfo(campaign.places[0].timezone) if campaign.places else UTC
    day = (now or datetime.now(UTC)).astimezone(zone).date().isoformat()
    name = " ".join(_UNSAFE_IN_NAME.sub(" - ", campaign.name).split())[:100].strip(" .-")
    readable = f"{name or f'Campaign {campaign.id}'} - recipients {day}.csv"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = _NOT_PLAIN_ASCII.sub("-", ascii_name).strip("-._")
    fallback = f"{ascii_name or f'campaign-{campaign.id}'}-recipients-{day}.csv"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(readable, safe='')}"


CSV_HEADER = [
    "recipient_id",
    "user_id",
    "name",
    "email",
    "phone",
    "channel",
    "status",
    "provider_status",
    "error_code",
    "error_message",
    "attempts",
    "sent_at",
    "cost",
]


async def export_rows(
    session: AsyncSession,
    campaign: Campaign,
    status: DeliveryStatus | None,
    channel: ChannelName | None,
) -> AsyncIterator[list[str]]:
    """One row per recipient and channel, streamed from a server-side cursor."""
    recipients = _recipients_query(campaign.id, status, channel).subquery()
    statement = (
        select(
            recipients.c.id,
            recipients.c.user_id,
            recipients.c.customer_first_name,
            recipients.c.customer_last_name,
            recipients.c.customer_email,
            recipients.c.customer_phone,
            CampaignDelivery.channel,
            CampaignDelivery.status,
            CampaignDelivery.provider_status,
            CampaignDelivery.error_code,
            CampaignDelivery.error_message,
            CampaignDelivery.attempts,
            CampaignDelivery.sent_at,
            CampaignDelivery.cost,
        )
        .join(CampaignDelivery, CampaignDelivery.recipient_id == recipients.c.id)
        .order_by(recipients.c.user_id, CampaignDelivery.channel)
    )
    if channel is not None:
        statement = statement.where(CampaignDelivery.channel == channel)
    result = await session.stream(statement.execution_options(yield_per=2000))
    async for row in result:
        (rid, uid, first, last, email, phone, ch, st, pst, code, err, attempts, sent_at, cost) = row
        cells = [
            str(rid),
            str(uid),
            f"{first} {last}".strip(),
            email or "",
            phone or "",
            ch,
            st,
            pst or "",
            code or "",
            err or "",
            str(attempts),
            sent_at.isoformat() if sent_at else "",
            str(cost) if cost is not None else "",
        ]
        yield [csv_cell(cell) for cell in cells]
