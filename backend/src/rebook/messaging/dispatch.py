"""The delivery engine: start a campaign, then let batch jobs claim its pending deliveries a
chunk at a time and send them, until none is left.

A chunk is claimed (`pending` → `sending`, attempts + 1) and committed BEFORE any provider call;
each delivery's send slot is reserved ahead (a window of IN_DOUBT_PER_CONNECTION sends per
provider connection), its `provider_call_at` committed once the slot has come, and its outcome
after the call, through the worker's journal (`journal.py`: the sends in flight share one
write). A start commits only while the campaign is sending, under a share lock on its row:
after a cancel has committed, no call of that campaign starts. A crash leaves at most the
window's sends in doubt, each resolved by recovery and, for email, flagged as a possible
duplicate; the worker renews the deliveries it holds (`lease.py`), so recovery never takes a
live worker's for a dead one's. Just before sending, consent, suppressions and the
customer's bookings at the campaign's (owner's) places are checked again from the live rows;
a delivery that no longer qualifies is skipped with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from rebook.audit import service as audit
from rebook.channels.base import (
    EmailSender,
    OutgoingEmail,
    OutgoingWhatsApp,
    SendFailure,
    SendResult,
    TooLate,
    WhatsAppSender,
)
from rebook.config import Settings
from rebook.db import asyncpg_of, retry_while_unreachable, session_scope
from rebook.deliverability import holds
from rebook.deliverability.from_address import sender_address
from rebook.delivery import queue
from rebook.delivery.journal import Journal
from rebook.delivery.lease import Lease
from rebook.delivery.ratelimit import SharedRateLimiter
from rebook.errors import ProviderUnavailable
from rebook.messaging import content, outcomes, rendering
from rebook.messaging import flow as sending
from rebook.messaging import recipient_selection as recipients
from rebook.messaging.schemas import MessagingConfig
from rebook.messaging.templates import ContentError, EmptyValue, TooLong
from rebook.metrics import SEND_LATENCY, SEND_SLOTS_MISSED
from rebook.models import Campaign, CampaignStatus, Channel
from rebook.whatsapp import service as whatsapp_templates
from rebook.whatsapp import windows
from rebook.whatsapp.service import TemplateContent

log = logging.getLogger("rebook.delivery")

NO_CONSENT = ("no_consent", "Not sent: the customer no longer consents to marketing messages.")
NOT_A_CUSTOMER = (
    "not_a_customer",
    "Not sent: this person is not a customer of the campaign's places.",
)
UNSUBSCRIBED = {
    "email": ("unsubscribed", "Not sent: the customer unsubscribed from your emails."),
    "whatsapp": ("unsubscribed", "Not sent: the customer unsubscribed from your WhatsApp."),
}
ADDRESS_SUPPRESSED = (
    "bounced_address",
    "Not sent: email to this address bounced; it is no longer mailed.",
)
WHATSAPP_PARALLEL_CALLS = 16
# Sends per provider connection with a slot reserved ahead (`Senders.window`); at most these
# have their start committed, so it bounds what a kill -9 can leave in doubt. Against a
# local relay that answers in under a millisecond, 12 kept an SMTP connection from ever
# finding nothing queued (8: one exchange in ten), with no gain in throughput measurable
# through the noise; against a real relay, whose round trip is tens of milliseconds, 8 is
# plenty. So 8: fewer possible duplicates after a crash.
IN_DOUBT_PER_CONNECTION = 8

# Failures after which the provider may have the message all the same.
UNANSWERED = ("timeout", "network")
NO_ADDRESS = {
    "email": ("no_email", "No email address on file."),
    "whatsapp": ("invalid_phone", "No valid phone number for WhatsApp."),
}

# Claims a chunk and, in the same statement, reads what the live rows say about each
# recipient now. The campaign must still be sending (cancel stops between chunks); the
# recipient must belong to this campaign and have booked at one of the campaign's places
# that the campaign's owner owns — whatever the other rows say.
#
# Each chunk is read by primary key, from past the batch's previous chunk (`after`): no scan
# over what is already sent, however large the campaign, whatever the table's statistics say
# (walking the key from the start with a filter, a claim late in a campaign read every
# delivery before it). The ARRAY and the OFFSET 0 keep the planner on key lookups for the
# chunk's rows, where it would hash-join every delivery and recipient of a small campaign.
# One statement, autocommitted: $1 campaign, $2 chunk size, $3 the batch's last id so far on
# $4 the channel.
CLAIM = """
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
           (u.gdpr_marketing_consent AND u.role = 'customer') AS consents,
           (r.campaign_id = cl.campaign_id AND EXISTS (
              SELECT 1 FROM bookings b
              JOIN campaign_places cp ON cp.place_id = b.place_id
                   AND cp.campaign_id = cl.campaign_id
              JOIN places pl ON pl.id = b.place_id AND pl.owner_id = c.owner_id
              WHERE b.user_id = r.user_id)) AS is_customer,
           EXISTS (SELECT 1 FROM marketing_suppressions s
                   WHERE s.user_id = r.user_id AND s.owner_id = c.owner_id
                     AND s.channel = cl.channel) AS unsubscribed,
           p.id AS place_id,
           CASE WHEN pk.last_error IN ('timeout', 'network') THEN pk.last_call_at END
             AS unanswered_at,
           (cl.channel = 'email' AND EXISTS (
              SELECT 1 FROM email_suppressions es
              WHERE es.address = lower(r.customer_email))) AS address_suppressed,
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

    def skip_reason(self) -> tuple[str, str] | None:
        if not self.consents:
            return NO_CONSENT
        if not self.is_customer:
            return NOT_A_CUSTOMER
        if self.unsubscribed:
            return UNSUBSCRIBED[self.channel]
        if self.address_suppressed:
            return ADDRESS_SUPPRESSED
        address = self.email if self.channel == "email" else self.phone_e164
        if not address:
            return NO_ADDRESS[self.channel]
        return None


class Senders:
    """The providers and shared rate limits one worker uses."""

    def __init__(
        self, engine: AsyncEngine, settings: Settings, email: EmailSender, whatsapp: WhatsAppSender
    ) -> None:
        self.settings = settings
        self.email = email
        self.whatsapp = whatsapp
        sender = settings.twilio_whatsapp_number or "outbox"
        self.limits = {
            "email": SharedRateLimiter("email", settings.email_rate_per_second),
            "whatsapp": SharedRateLimiter(f"whatsapp:{sender}", settings.whatsapp_rate_per_second),
        }
        # Connections to the provider: SMTP's own; Twilio's HTTP client takes many calls.
        lanes = {"email": settings.smtp_connections, "whatsapp": WHATSAPP_PARALLEL_CALLS}
        # Calls at once: an SMTP connection that pipelines carries two messages, one's
        # content and the next one's envelope, and needs a third queued by the time their
        # replies come, or the content goes alone (a round trip more per message).
        calls = {"email": 3 * settings.smtp_connections, "whatsapp": WHATSAPP_PARALLEL_CALLS}
        self.parallel = {channel: asyncio.Semaphore(n) for channel, n in calls.items()}
        # Sends with a slot and not yet finished: a few per connection, so the next calls'
        # slots and starts are committed while the current ones are on the wire. A crash
        # leaves at most this many deliveries in doubt.
        # An HTTP call carries one message: two per call at once hide the journal's write;
        # more would only be calls committed as starting that wait for a place (and go
        # after a cancel).
        self.window = {
            "email": asyncio.Semaphore(IN_DOUBT_PER_CONNECTION * lanes["email"]),
            "whatsapp": asyncio.Semaphore(2 * lanes["whatsapp"]),
        }
        self.journal = Journal(engine)
        self.lease = Lease(engine, settings.delivery_stale_after_seconds)

        self._connected: dict[str, asyncio.Task[None]] = {}

    async def connected(self, channel: str) -> None:
        """The provider's connections are open: the first messages must not wait for them
        once their slots have come (they would reach the provider together)."""
        if channel not in self._connected:
            connect = self.email.connect() if channel == "email" else self.whatsapp.connect()
            self._connected[channel] = asyncio.ensure_future(connect)
        await asyncio.shield(self._connected[channel])

    async def aclose(self) -> None:
        await self.lease.aclose()
        await self.email.aclose()
        await self.whatsapp.aclose()
        await self.journal.aclose()


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
    senders: Senders,
    cfg: MessagingConfig,
    item: Claimed,
    plan: WhatsAppPlan | None = None,
    choice: windows.Content | None = None,
) -> None:
    claimed_at = datetime.now(UTC)
    async with senders.window[item.channel]:
        await _start_and_send(senders, cfg, item, claimed_at, plan, choice)


async def _start_and_send(
    senders: Senders,
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
        await outcomes.skipped(senders.journal, item, "too_long", f"Not sent: {exc.message}")
        return
    except EmptyValue as exc:
        await outcomes.skipped(
            senders.journal,
            item,
            "empty_value",
            f"Not sent: {content.label(exc)} {exc.message}",
        )
        return
    except ContentError as exc:
        # Content saved before the checks at save (which refuse it now): no retry can help.
        failure = SendFailure(
            code="content",
            message=f"Not sent: {content.label(exc)} cannot be personalised: {exc.message}",
            transient=False,
        )
        await outcomes.failed(senders.journal, item, failure, settings)
        return
    except Exception:
        message = None
        log.exception("unexpected render error", extra={"delivery_id": item.id})
    if message is not None:
        outcome = await _send_in_slot(senders, item, message, claimed_at)
        if outcome is None:
            return
    else:
        async with senders.parallel[item.channel]:
            outcome = await _call(senders, item, message, claimed_at)
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
        stopped = await sending.stop_whatsapp(session, campaign_id, failure.code, failure.message)
    log.warning(
        "whatsapp sends stopped",
        extra={"campaign_id": campaign_id, "code": failure.code, "stopped": stopped},
    )


async def _whatsapp_plan(
    session: Any, senders: Senders, campaign: Campaign, cfg: MessagingConfig
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


async def _send_in_slot(
    senders: Senders,
    item: Claimed,
    message: OutgoingEmail | OutgoingWhatsApp,
    claimed_at: datetime,
) -> SendResult | SendFailure | None:
    """Reserve a send slot, commit the call's start when the slot comes, and call; None if
    the delivery must not go (its campaign was cancelled, or recovery took it back)."""
    if item.unanswered_at is not None and isinstance(message, OutgoingWhatsApp):
        found = await _reconcile(senders, item, message, item.unanswered_at)
        if found is not None:
            return found
    await senders.connected(item.channel)
    limiter = senders.limits[item.channel]
    while True:
        slot = await senders.journal.reserve(item.id, limiter)
        if slot is None:
            return None
        if not slot.started:
            await limiter.wait_until(slot.at - timedelta(seconds=senders.journal.lead))
            if not await senders.journal.call_starts(item.id):
                return None
        await limiter.wait_until(slot.at)
        # Nothing is held while waiting for a slot: a send kept waiting for its place among
        # the calls at once (slow answers) must not keep the next ones from theirs.
        async with senders.parallel[item.channel]:
            if not limiter.missed(slot.at):
                try:
                    return await _call(
                        senders, item, message, claimed_at, limiter.deadline(slot.at)
                    )
                except TooLate:
                    pass  # it waited for a busy connection, and was not sent
        # Too late for its slot (a busy loop, slow calls): sent now it would bunch with the
        # next ones. It takes a new slot; the journal undoes its start meanwhile.
        SEND_SLOTS_MISSED.labels(item.channel).inc()


async def _reconcile(
    senders: Senders, item: Claimed, message: OutgoingWhatsApp, since: datetime
) -> SendResult | None:
    """The previous attempt went unanswered, and Twilio may have answered (and created the
    message) after we stopped waiting: its message if Twilio has it now; else None, the
    delivery flagged as a possible duplicate before it is sent again (Twilio could still be
    holding the first, or could not be asked)."""
    try:
        found = await senders.whatsapp.find_sent(message, since)
    except SendFailure:
        found = None
    if found is None:
        await senders.journal.flag_possible_duplicate(item.id)
    return found


async def _call(
    senders: Senders,
    item: Claimed,
    message: OutgoingEmail | OutgoingWhatsApp | None,
    claimed_at: datetime,
    not_after: datetime | None = None,
) -> SendResult | SendFailure:
    """The provider call: its result, or why it failed; raises only `TooLate` (nothing was
    sent: it could not reach the wire by `not_after`)."""
    started = time.perf_counter()
    try:
        if message is None:
            raise RuntimeError("the message could not be rendered")
        if isinstance(message, OutgoingEmail):
            return await senders.email.send(message, not_after=not_after)
        try:
            return await senders.whatsapp.send(message)
        except SendFailure as failure:
            # No answer to the POST: Twilio may have the message. Ask before retrying,
            # because the Messages API has no idempotency key.
            if failure.code not in UNANSWERED:
                raise
            found = await senders.whatsapp.find_sent(message, claimed_at)
            if found is not None:
                return found
            # Not there yet; it may be created late. Asked again before any resend; the
            # last attempt, given up, may have reached the customer all the same.
            if item.attempts >= senders.settings.delivery_max_attempts:
                return SendFailure(
                    failure.code, failure.message, transient=True, maybe_delivered=True
                )
            return SendFailure(
                failure.code,
                f"{failure.message} Twilio is asked again whether it has the message "
                "before it is sent again.",
                transient=True,
                retry_after=senders.settings.twilio_reconcile_seconds,
            )
    except SendFailure as failure:
        return failure
    except TooLate:
        raise
    except Exception:  # an unexpected error must not leave the delivery in limbo
        log.exception("unexpected send error", extra={"delivery_id": item.id})
        return SendFailure(
            code="internal",
            message="Rebook could not send this message because of an internal error.",
            transient=True,
        )
    finally:
        SEND_LATENCY.labels(item.channel).observe(time.perf_counter() - started)


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


async def run_batch(engine: AsyncEngine, senders: Senders, campaign_id: int) -> int:
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
    senders: Senders, cfg: MessagingConfig, items: list[Claimed], plan: WhatsAppPlan | None
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
                reason = windows.OUTSIDE_WINDOW
        if reason is not None:
            tasks.append(outcomes.skipped(senders.journal, item, *reason))
        else:
            to_send[item.channel].append((item, choice))
    for group in to_send.values():
        tasks += [_deliver(senders, cfg, item, plan, choice) for item, choice in group]
    await asyncio.gather(*tasks)


async def start_campaign(campaign_id: int, settings: Settings, now: datetime | None = None) -> None:
    """Move a due scheduled campaign to sending and plan its batch jobs."""
    now = now or datetime.now(UTC)
    async with session_scope() as session:
        campaign = await session.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None:
            return
        if campaign.status == CampaignStatus.scheduled:
            when = (await content.load(session, campaign)).scheduled_send_time
            if when is not None and when > now:
                return  # rescheduled later; that job will start it
            campaign.status = CampaignStatus.sending
            await audit.record(
                session,
                "campaign.sending_started",
                owner_id=campaign.owner_id,
                campaign_id=campaign.id,
                by_system=True,
            )
        if campaign.status != CampaignStatus.sending:
            return
        # Recipients get their deliveries when added; any still without one gets it now.
        await recipients.prepare_deliveries(session, campaign)
        await session.flush()
        counts = await _open_counts(session, campaign_id)
        batches = max(
            1,
            min(
                settings.delivery_parallel_batches,
                -(-counts["pending"] // settings.delivery_batch_size),
            ),
        )
        for slot in range(batches):
            await queue.defer(
                session,
                queue.BATCH_TASK,
                {"campaign_id": campaign_id, "slot": slot},
                queueing_lock=queue.batch_lock(campaign_id, slot),
            )


async def _open_counts(
    session: Any, campaign_id: int, without_channel: str | None = None
) -> dict[str, int]:
    rows = (
        await session.execute(
            text(
                "SELECT status, sum(count)::bigint FROM campaign_delivery_counts "
                "WHERE campaign_id = :id AND channel IS DISTINCT FROM :without GROUP BY status"
            ),
            {"id": campaign_id, "without": without_channel},
        )
    ).all()
    counts = {status: int(n) for status, n in rows}
    return {
        "pending": counts.get("pending", 0),
        "sending": counts.get("sending", 0),
        "failed": counts.get("failed", 0),
        "sent": counts.get("sent", 0),
    }


async def after_batch(campaign_id: int) -> None:
    """Plan the retries that are waiting, or mark the campaign finished when nothing is
    pending or in flight any more."""
    async with session_scope() as session:
        campaign = await session.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None or campaign.status != CampaignStatus.sending:
            return
        held = await holds.is_held(session, campaign.owner_id)
        # Held emails wait for the hold to be lifted, which plans their batches again.
        counts = await _open_counts(session, campaign_id, Channel.email if held else None)
        if held and counts["pending"] == 0 and counts["sending"] == 0:
            counts = await _open_counts(session, campaign_id)
            if counts["pending"]:
                return
        if counts["pending"]:
            next_try = await session.scalar(
                text(
                    # A delivery without a retry time (sent back by recovery) is due now.
                    "SELECT min(coalesce(next_attempt_at, clock_timestamp())) "
                    "FROM campaign_deliveries WHERE campaign_id = :id AND status = 'pending' "
                    "AND channel IS DISTINCT FROM :without"
                ),
                {"id": campaign_id, "without": Channel.email.value if held else None},
            )
            await queue.defer(
                session,
                queue.BATCH_TASK,
                {"campaign_id": campaign_id, "slot": 0},
                queueing_lock=queue.batch_lock(campaign_id, 0),
                scheduled_at=next_try,
            )
            return
        if counts["sending"]:
            return  # another batch is finishing; it will close the campaign
        campaign.status = (
            (CampaignStatus.partially_failed if counts["sent"] else CampaignStatus.failed)
            if counts["failed"]
            else CampaignStatus.sent
        )
        await audit.record(
            session,
            "campaign.finished",
            owner_id=campaign.owner_id,
            campaign_id=campaign.id,
            by_system=True,
            details={"status": campaign.status.value},
        )
        log.info(
            "campaign finished",
            extra={"campaign_id": campaign_id, "status": campaign.status.value},
        )
