"""A batch of a sending campaign (`flow.py` starts and finishes it): claim its pending
deliveries a chunk at a time, check each recipient again, render, and send, until none is left.

A chunk is claimed (`pending` → `sending`, attempts + 1) and committed BEFORE any provider call;
each delivery's send slot is reserved ahead (a window of IN_DOUBT_PER_CONNECTION sends per
provider connection), its `provider_call_at` committed once the slot has come, and its outcome
after the call, through the worker's journal (`rebook.delivery.journal`: the sends in flight
share one write; the call itself is `rebook.delivery.calls`). A start commits only while the
campaign is sending, under a share lock on its row: after a cancel has committed, no call of
that campaign starts. A crash leaves at most the window's sends in doubt, each resolved by
recovery and, for email, flagged as a possible duplicate; the worker renews the deliveries it
holds (`lease.py`), so recovery never takes a live worker's for a dead one's. Just before
sending, consent, suppressions and the customer's bookings at the campaign's (owner's) places
are checked again from the live rows, by the rules of `audience.py`; a delivery that no longer
qualifies is skipped with the reason (`rebook.delivery.reasons`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from rebook.channels.base import (
    OutgoingEmail,
    OutgoingWhatsApp,
    SendFailure,
)
from rebook.config import Settings
from rebook.db import asyncpg_of, retry_while_unreachable, session_scope
from rebook.deliverability import holds
from rebook.deliverability.from_address import sender_address
from rebook.delivery import calls, reasons
from rebook.errors import ProviderUnavailable
from rebook.messaging import audience, content, flow, outcomes, rendering
from rebook.messaging.schemas import MessagingConfig
from rebook.messaging.templates import ContentError, EmptyValue, TooLong
from rebook.models import Campaign, CampaignStatus, Channel, Place, campaign_places
from rebook.whatsapp import service as whatsapp_templates
from rebook.whatsapp import windows
from rebook.whatsapp.service import TemplateContent

log = logging.getLogger("rebook.delivery")

# The eligibility rules (rebook.messaging.audience), applied to the claim's aliases: `u` the
# recipient's user row, `r` their campaign_recipients row (the address the message goes to),
# `c` the campaign, `cl` the claimed delivery. The recipient must have booked at one of the
# campaign's places that the campaign's owner owns — whatever the other rows say.
_CAMPAIGN_PLACES = (
    select(campaign_places.c.place_id)
    .join(Place, Place.id == campaign_places.c.place_id)
    .where(
        campaign_places.c.campaign_id == literal_column("cl.campaign_id"),
        Place.owner_id == literal_column("c.owner_id"),
    )
)
_USER: ColumnElement[int] = literal_column("r.user_id")
CONSENTS = audience.as_sql(audience.marketable("u"))
IS_CUSTOMER = audience.as_sql(audience.booked_at(_CAMPAIGN_PLACES, user_id=_USER))
UNSUBSCRIBED = audience.as_sql(
    audience.suppressed(literal_column("c.owner_id"), literal_column("cl.channel"), _USER)
)
ADDRESS_SUPPRESSED = audience.as_sql(
    audience.address_suppressed(literal_column("r.customer_email"))
)

# Claims a chunk and, in the same statement, reads what the live rows say about each
# recipient now, by the rules above. The campaign must still be sending (cancel stops
# between chunks).
#
# Each chunk is read by primary key, from past the batch's previous chunk (`after`): no scan
# over what is already sent, however large the campaign, whatever the table's statistics say
# (walking the key from the start with a filter, a claim late in a campaign read every
# delivery before it). The ARRAY and the OFFSET 0 keep the planner on key lookups for the
# chunk's rows, where it would hash-join every delivery and recipient of a small campaign.
# One statement, autocommitted: $1 campaign, $2 chunk size, $3 the batch's last id so far on
# $4 the channel.
CLAIM = f"""
    WITH picked AS (
      SELECT id, error_code AS last_error, provider_call_at AS last_call_at
      FROM campaign_deliveries
      WHERE campaign_id = $1 AND status = 'pending' AND channel = $4 AND id > $3
        AND (next_attempt_at IS NULL OR next_attempt_at <= clock_timestamp())
      ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE campaign_deliveries d
      SET status = 'sending', attempts = d.attempts + 1, updated_at = clock_timestamp(),
          provider_call_at = NULL
      WHERE d.id = ANY(ARRAY(SELECT id FROM picked))
        AND EXISTS (SELECT 1 FROM campaigns c
                    WHERE c.id = $1 AND c.status = 'sending')
      RETURNING d.id, d.campaign_id, d.recipient_id, d.channel, d.attempts
    )
    SELECT cl.id, cl.campaign_id, cl.channel, cl.attempts, c.owner_id, r.user_id,
           r.customer_first_name AS first_name, r.customer_last_name AS last_name,
           r.customer_email AS email, r.customer_phone_e164 AS phone_e164,
           coalesce(p.name, '') AS place_name,
           ({CONSENTS}) AS consents,
           (r.campaign_id = cl.campaign_id AND {IS_CUSTOMER}) AS is_customer,
           {UNSUBSCRIBED} AS unsubscribed,
           p.id AS place_id,
           CASE WHEN pk.last_error IN ('timeout', 'network') THEN pk.last_call_at END
             AS unanswered_at,
           (cl.channel = 'email' AND {ADDRESS_SUPPRESSED}) AS address_suppressed,
           p.reply_to_email AS reply_to,
           o.sender_email,
           CASE WHEN cl.channel = 'whatsapp' THEN (
             SELECT w.last_inbound_at FROM whatsapp_service_windows w
             WHERE w.phone_e164 = r.customer_phone_e164) END AS last_inbound_at
    FROM claimed cl
    JOIN picked pk ON pk.id = cl.id
    JOIN campaigns c ON c.id = cl.campaign_id
    JOIN users o ON o.id = c.owner_id
    CROSS JOIN LATERAL (
      SELECT * FROM campaign_recipients WHERE id = cl.recipient_id OFFSET 0) r
    JOIN users u ON u.id = r.user_id
    LEFT JOIN places p ON p.id = r.place_id AND p.owner_id = c.owner_id
    ORDER BY cl.id
    """


class Claimed(NamedTuple):
    """A claimed delivery and what the live rows say about its recipient: one row of CLAIM,
    in its column order (a tuple: a chunk's hundred rows cost next to nothing to read)."""

    id: int
    campaign_id: int
    channel: str
    attempts: int
    owner_id: int
    user_id: int
    first_name: str
    last_name: str
    email: str | None
    phone_e164: str | None
    place_name: str
    consents: bool
    is_customer: bool
    unsubscribed: bool
    place_id: int | None
    # When the previous attempt's call began, if the provider never answered it.
    unanswered_at: datetime | None
    # The email address bounced (for any owner): rebook.deliverability.
    address_suppressed: bool
    reply_to: str | None  # the place's
    sender_email: str | None  # the owner's own From address, if any
    # WhatsApp: when the customer's number last wrote to us (their 24-hour window).
    last_inbound_at: datetime | None

    def skip_reason(self) -> reasons.Reason | None:
        if not self.consents:
            return reasons.NO_CONSENT
        if not self.is_customer:
            return reasons.NOT_A_CUSTOMER
        if self.unsubscribed:
            return reasons.UNSUBSCRIBED[self.channel]
        if self.address_suppressed:
            return reasons.ADDRESS_SUPPRESSED
        address = self.email if self.channel == "email" else self.phone_e164
        if not address:
            return reasons.NO_ADDRESS[self.channel]
        return None


@dataclass
class WhatsAppPlan:
    """A campaign's WhatsApp content as the batch sends it; `stopped` once the provider
    said every other message would fail too (the batch's claimed ones then fail with the
    same sentence instead of a provider call)."""

    text: str | None
    template: TemplateContent | None
    mapping: dict[str, str] | None
    stopped: SendFailure | None = None

    def choose(self, item: Claimed, now: datetime) -> windows.Content | None:
        return windows.choose(
            has_text=bool(self.text),
            has_template=self.template is not None,
            window_open=windows.is_open(item.last_inbound_at, now),
        )


def _render(
    item: Claimed,
    cfg: MessagingConfig,
    settings: Settings,
    plan: WhatsAppPlan | None = None,
    choice: windows.Content | None = None,
) -> OutgoingEmail | OutgoingWhatsApp:
    who = rendering.Personalisation(
        item.owner_id, item.user_id, item.first_name, item.last_name, item.place_name, item.place_id
    )
    if item.channel == "email":
        assert item.email is not None
        email = rendering.render_email(cfg.email_subject or "", cfg.email_body or "", who, settings)
        return OutgoingEmail(
            delivery_id=item.id,
            owner_id=item.owner_id,
            to=item.email,
            subject=email.subject,
            html=email.html,
            text=email.text,
            unsubscribe_url=email.unsubscribe_url,
            from_name=item.place_name or None,
            from_address=sender_address(item.sender_email, settings),
            reply_to=item.reply_to,
            campaign_id=item.campaign_id,
        )
    assert item.phone_e164 is not None
    assert plan is not None
    if choice == windows.Content.text:
        assert plan.text is not None
        return OutgoingWhatsApp(
            delivery_id=item.id,
            owner_id=item.owner_id,
            to_e164=item.phone_e164,
            body=rendering.render_whatsapp_text(plan.text, who, settings),
            content_sid=None,
            content_variables=None,
        )
    assert plan.template is not None
    filled = rendering.render_whatsapp_template(plan.template, plan.mapping, who, settings)
    return OutgoingWhatsApp(
        delivery_id=item.id,
        owner_id=item.owner_id,
        to_e164=item.phone_e164,
        body=None,
        content_sid=filled.content_sid,
        content_variables=filled.content_variables,
        template_text=filled.text,
    )


async def _deliver(
    senders: calls.Senders,
    cfg: MessagingConfig,
    item: Claimed,
    plan: WhatsAppPlan | None = None,
    choice: windows.Content | None = None,
) -> None:
    claimed_at = datetime.now(UTC)
    async with senders.window[item.channel]:
        await _start_and_send(senders, cfg, item, claimed_at, plan, choice)


async def _start_and_send(
    senders: calls.Senders,
    cfg: MessagingConfig,
    item: Claimed,
    claimed_at: datetime,
    plan: WhatsAppPlan | None = None,
    choice: windows.Content | None = None,
) -> None:
    settings = senders.settings
    if item.channel == "whatsapp" and plan is not None and plan.stopped is not None:
        stop = plan.stopped
        await outcomes.failed(
            senders.journal, item, SendFailure(stop.code, stop.message, transient=False), settings
        )
        return
    try:
        # Rendered before the call starts, so nothing but the call itself stands between
        # the send slot and the provider.
        message = _render(item, cfg, settings, plan, choice)
    except TooLong as exc:
        # Over a channel's limit with this customer's values: skipped, with how long.
        await outcomes.skipped(senders.journal, item, *reasons.too_long(exc.message))
        return
    except EmptyValue as exc:
        reason = reasons.empty_value(content.label(exc), exc.message)
        await outcomes.skipped(senders.journal, item, *reason)
        return
    except ContentError as exc:
        # Content saved before the checks at save (which refuse it now): no retry can help.
        reason = reasons.cannot_personalise(content.label(exc), exc.message)
        failure = SendFailure(code=reason.code, message=reason.message, transient=False)
        await outcomes.failed(senders.journal, item, failure, settings)
        return
    except Exception:
        message = None
        log.exception("unexpected render error", extra={"delivery_id": item.id})
    if message is not None:
        outcome = await calls.send_in_slot(senders, item, message, claimed_at)
        if outcome is None:
            return
    else:
        async with senders.parallel[item.channel]:
            outcome = await calls.call(senders, item, message, claimed_at)
    if isinstance(outcome, SendFailure):
        await outcomes.failed(senders.journal, item, outcome, settings)
        if (
            outcome.stops_sending
            and item.channel == "whatsapp"
            and plan is not None
            and plan.stopped is None
        ):
            plan.stopped = outcome
            await stop_whatsapp(item.campaign_id, outcome)
    else:
        await outcomes.sent(senders.journal, item, outcome)


async def stop_whatsapp(campaign_id: int, failure: SendFailure) -> None:
    """The campaign's pending WhatsApp messages fail at once with the provider's sentence."""
    async with session_scope() as session:
        stopped = await flow.stop_whatsapp(session, campaign_id, failure.code, failure.message)
    log.warning(
        "whatsapp sends stopped",
        extra={"campaign_id": campaign_id, "code": failure.code, "stopped": stopped},
    )


async def _whatsapp_plan(
    session: Any, senders: calls.Senders, campaign: Campaign, cfg: MessagingConfig
) -> WhatsAppPlan:
    """The campaign's WhatsApp content for this batch, stopped (its pending WhatsApp
    messages failed) when its template can no longer be sent. The account's template list
    is read again once it is older than WHATSAPP_TEMPLATES_CACHE_SECONDS."""
    if not cfg.whatsapp_content_sid:
        return WhatsAppPlan(cfg.whatsapp_message, None, None)
    settings = senders.settings
    with contextlib.suppress(ProviderUnavailable):  # the cached row, if any, decides
        await whatsapp_templates.catalog(session, settings)
    row = await whatsapp_templates.cached_template(session, settings, cfg.whatsapp_content_sid)
    if row is None:
        reason: str | None = "The campaign's WhatsApp template is no longer in your Twilio account."
    else:
        reason = whatsapp_templates.problem(row)
    if reason is not None:
        failure = SendFailure(
            "template_unavailable",
            f"{reason} The campaign's WhatsApp messages were not sent.",
            transient=False,
        )
        await stop_whatsapp(campaign.id, failure)
        return WhatsAppPlan(cfg.whatsapp_message, None, None, stopped=failure)
    assert row is not None
    template = whatsapp_templates.content_of(row.content_sid, row.friendly_name, row.types)
    return WhatsAppPlan(cfg.whatsapp_message, template, cfg.whatsapp_content_variables)


async def claim(
    engine: AsyncEngine, campaign_id: int, channel: str, limit: int, after: int = 0
) -> list[Claimed]:
    """Up to `limit` due pending deliveries of the campaign on `channel` with ids above
    `after`, now `sending` (committed), in id order. Straight through asyncpg, like the
    journal: for a hundred rows, SQLAlchemy's transaction and row handling cost the worker
    more than the statement. Retried while the database is away: a claim whose answer was
    lost leaves its deliveries `sending` unheld, and recovery queues them again."""

    async def attempt() -> list[Any]:
        async with engine.connect() as conn:
            rows: list[Any] = await (await asyncpg_of(conn)).fetch(
                CLAIM, campaign_id, limit, after, channel
            )
        return rows

    rows = await retry_while_unreachable(attempt, "claim")
    return [Claimed(*row) for row in rows]


CHANNELS = ("email", "whatsapp")


async def run_batch(engine: AsyncEngine, senders: calls.Senders, campaign_id: int) -> int:
    """Claim and send chunks of this campaign until none is left; returns how many were
    handled. Each channel has a chunk of its own in flight: a channel held to its rate never
    keeps the other's deliveries from being claimed (with mixed chunks, WhatsApp waited while
    every batch held a chunk of emails). Deliveries waiting for a retry, or due again behind
    this batch's cursor (a recovered one), are left to a later job: `after_batch` plans it."""
    async with session_scope() as session:
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != CampaignStatus.sending:
            return 0
        cfg = await content.load(session, campaign)
        # An owner whose emails are held (complaint rate) still sends WhatsApp.
        emails_held = await holds.is_held(session, campaign.owner_id)
        plan = None
        if "whatsapp" in cfg.channels:
            plan = await _whatsapp_plan(session, senders, campaign, cfg)
    channels = tuple(c for c in CHANNELS if not (emails_held and c == Channel.email))
    after = dict.fromkeys(channels, 0)

    async def next_chunk(channel: str) -> int:
        items = await claim(
            engine, campaign_id, channel, senders.settings.delivery_batch_size, after[channel]
        )
        if not items:
            return 0
        after[channel] = items[-1].id
        held = [item.id for item in items]
        senders.lease.hold(held)
        try:
            await _send_chunk(senders, cfg, items, plan)
        finally:
            senders.lease.release(held)
        return len(items)

    handled = 0
    running = {asyncio.ensure_future(next_chunk(channel)): channel for channel in channels}
    try:
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                channel = running.pop(task)
                count = task.result()
                if count:
                    handled += count
                    running[asyncio.ensure_future(next_chunk(channel))] = channel
    finally:
        # A failed chunk stops the batch once the other channel's sends are over: never
        # leave them running unwatched (their lease would lapse).
        if running:
            await asyncio.wait(running)
    return handled


async def _send_chunk(
    senders: calls.Senders, cfg: MessagingConfig, items: list[Claimed], plan: WhatsAppPlan | None
) -> None:
    """Each claimed delivery skipped with its reason or sent, side by side. A WhatsApp one
    gets the free text inside the customer's 24-hour window, else the template."""
    tasks = []
    to_send: dict[str, list[tuple[Claimed, windows.Content | None]]] = {
        "email": [],
        "whatsapp": [],
    }
    now = datetime.now(UTC)
    for item in items:
        reason = item.skip_reason()
        choice = None
        if reason is None and plan is not None and item.channel == "whatsapp" and not plan.stopped:
            choice = plan.choose(item, now)
            if choice is None:
                reason = reasons.OUTSIDE_WINDOW
        if reason is not None:
            tasks.append(outcomes.skipped(senders.journal, item, *reason))
        else:
            to_send[item.channel].append((item, choice))
    for group in to_send.values():
        tasks += [_deliver(senders, cfg, item, plan, choice) for item, choice in group]
    await asyncio.gather(*tasks)
