"""A message's provider call in its send slot, and the providers one worker calls.

The slot is reserved through the worker's journal, the call's start committed when the slot
comes (only while the campaign is still sending), then the provider is called; a call that
missed its slot takes a new one instead of bunching with the next ones."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

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
from rebook.delivery.journal import Journal
from rebook.delivery.lease import Lease
from rebook.delivery.ratelimit import SharedRateLimiter
from rebook.metrics import SEND_LATENCY, SEND_SLOTS_MISSED

log = logging.getLogger("rebook.delivery")


class ClaimedDelivery(Protocol):
    """What a call needs to know of the delivery it sends."""

    @property
    def id(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    # When the previous attempt's call began, if the provider never answered it.
    @property
    def unanswered_at(self) -> datetime | None: ...


WHATSAPP_PARALLEL_CALLS = 16
# Sends per provider connection with a slot reserved ahead (`Senders.window`): at most these
# have their start committed, so this bounds what a kill -9 can leave in doubt, and it keeps
# a connection supplied while a real relay's round trip (tens of milliseconds) is under way.
IN_DOUBT_PER_CONNECTION = 8


# Failures after which the provider may have the message all the same.
UNANSWERED = ("timeout", "network")


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


async def send_in_slot(
    senders: Senders,
    item: ClaimedDelivery,
    message: OutgoingEmail | OutgoingWhatsApp,
    claimed_at: datetime,
) -> SendResult | SendFailure | None:
    """Reserve a send slot, commit the call's start when the slot comes, and call; None if
    the delivery must not go (its campaign was cancelled, or recovery took it back)."""
    if item.unanswered_at is not None and isinstance(message, OutgoingWhatsApp):
        found = await reconcile(senders, item, message, item.unanswered_at)
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
                    return await call(senders, item, message, claimed_at, limiter.deadline(slot.at))
                except TooLate:
                    pass  # it waited for a busy connection, and was not sent
        # Too late for its slot (a busy loop, slow calls): sent now it would bunch with the
        # next ones. It takes a new slot; the journal undoes its start meanwhile.
        SEND_SLOTS_MISSED.labels(item.channel).inc()


async def reconcile(
    senders: Senders, item: ClaimedDelivery, message: OutgoingWhatsApp, since: datetime
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


async def call(
    senders: Senders,
    item: ClaimedDelivery,
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
