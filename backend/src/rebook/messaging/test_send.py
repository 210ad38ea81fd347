"""Test sends: the owner receives the campaign's message, rendered as its first recipient
would get it, at their own address or number, before sending it to anyone.

A test is marked as one ("[Test]" before the subject or text, and an X-Rebook-Test header), is
no delivery of the campaign (its stats and recipients never count it), carries an
unsubscribe link that unsubscribes nobody, is limited to TEST_SENDS_PER_HOUR per owner, and
is recorded in the campaign's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.audit import service as audit
from rebook.channels import outbox
from rebook.channels.backends import email_sender, whatsapp_sender
from rebook.channels.base import (
    OutgoingEmail,
    OutgoingWhatsApp,
    SendFailure,
    SendResult,
    mask,
)
from rebook.config import Settings
from rebook.deliverability.from_address import sender_address
from rebook.errors import InvalidInput, ProviderRefused, TooManyRequests
from rebook.messaging import content, preview, rendering, send_checks, templates
from rebook.messaging.schemas import ChannelName, MessagingConfig
from rebook.messaging.templates import ContentError
from rebook.models import AuditEvent, Campaign, Place, User
from rebook.request_context import Origin
from rebook.whatsapp import service as whatsapp_templates
from rebook.whatsapp.service import TemplateContent

ACTION = "campaign.test_sent"
TEST_MARK = "[Test] "


class TestSendRequest(BaseModel):
    channel: ChannelName


class TestSendResult(BaseModel):
    channel: ChannelName
    to: str  # the owner's own address or number
    provider_message_id: str | None
    sent_at: datetime


async def _check_rate(
    session: AsyncSession, owner: User, settings: Settings, now: datetime
) -> None:
    # One test send of an owner at a time, so two at once cannot both pass the count.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('test-send'), :id)"), {"id": owner.id}
    )
    window = timedelta(hours=1)
    oldest, count = (
        await session.execute(
            select(func.min(AuditEvent.created_at), func.count()).where(
                AuditEvent.owner_id == owner.id,
                AuditEvent.action == ACTION,
                AuditEvent.created_at > now - window,
            )
        )
    ).one()
    if count >= settings.test_sends_per_hour:
        retry_after = max(1, int((oldest + window - now).total_seconds()) + 1)
        raise TooManyRequests(
            f"You can send {settings.test_sends_per_hour} tests an hour; try again in "
            f"{-(-retry_after // 60)} minutes.",
            retry_after=retry_after,
        )


def _address(owner: User, channel: ChannelName) -> str:
    if channel == "email":
        if not owner.email:
            raise InvalidInput("Add an email address to your account to receive test emails.")
        return owner.email
    if not owner.phone_e164:
        raise InvalidInput(
            "Add a mobile number (in international form) to your account to receive test "
            "WhatsApp messages."
        )
    return owner.phone_e164


def _message(
    channel: ChannelName,
    cfg: MessagingConfig,
    who: rendering.Personalisation,
    to: str,
    owner: User,
    campaign: Campaign,
    place: Place | None,
    settings: Settings,
    template: TemplateContent | None,
) -> OutgoingEmail | OutgoingWhatsApp:
    if channel == "email":
        email = rendering.render_email(cfg.email_subject or "", cfg.email_body or "", who, settings)
        return OutgoingEmail(
            delivery_id=0,
            owner_id=owner.id,
            to=to,
            subject=TEST_MARK + email.subject,
            html=email.html,
            text=email.text,
            unsubscribe_url=email.unsubscribe_url,
            from_name=who.place_name or None,
            from_address=sender_address(owner.sender_email, settings),
            reply_to=place.reply_to_email if place else None,
            campaign_id=campaign.id,
            is_test=True,
        )
    # The template if there is one (what most customers get: the owner's own number is
    # rarely inside its 24-hour window), else the free text.
    if template is not None:
        filled = rendering.render_whatsapp_template(
            template, cfg.whatsapp_content_variables, who, settings
        )
        # An approved template is sent as approved: nothing may be added to it.
        return OutgoingWhatsApp(
            delivery_id=0,
            owner_id=owner.id,
            to_e164=to,
            body=None,
            content_sid=filled.content_sid,
            content_variables=filled.content_variables,
            template_text=filled.text,
        )
    return OutgoingWhatsApp(
        delivery_id=0,
        owner_id=owner.id,
        to_e164=to,
        body=TEST_MARK + rendering.render_whatsapp_text(cfg.whatsapp_message or "", who, settings),
        content_sid=None,
        content_variables=None,
    )


async def _send(
    session: AsyncSession, message: OutgoingEmail | OutgoingWhatsApp, settings: Settings
) -> SendResult:
    backend = (
        settings.email_backend if isinstance(message, OutgoingEmail) else settings.whatsapp_backend
    )
    if backend == "outbox":
        return await outbox.keep_test(session, message)
    if isinstance(message, OutgoingEmail):
        email = email_sender(settings)
        try:
            return await email.send(message)
        finally:
            await email.aclose()
    whatsapp = whatsapp_sender(settings)
    try:
        return await whatsapp.send(message)
    finally:
        await whatsapp.aclose()


async def send_test(
    session: AsyncSession,
    owner: User,
    campaign: Campaign,
    channel: ChannelName,
    settings: Settings,
    origin: Origin,
    now: datetime | None = None,
) -> TestSendResult:
    send_checks.ensure_messaging(campaign)
    cfg = await content.load(session, campaign)
    if channel not in cfg.channels:
        raise InvalidInput(f"This campaign does not send by {channel}.")
    to = _address(owner, channel)
    now = now or datetime.now(UTC)
    await _check_rate(session, owner, settings, now)
    recipient, _, _ = await preview.personalisation_for(session, campaign, None)
    # Rendered with the first recipient's names, but an unsubscribe link for nobody.
    who = rendering.Personalisation(
        campaign.owner_id, 0, recipient.first_name, recipient.last_name, recipient.place_name
    )
    place = next((p for p in campaign.places if p.name == who.place_name), None)
    template = None
    if channel == "whatsapp" and cfg.whatsapp_content_sid:
        template = await whatsapp_templates.sendable_template(
            session, settings, cfg.whatsapp_content_sid
        )
    try:
        message = await templates.off_loop(
            lambda: _message(channel, cfg, who, to, owner, campaign, place, settings, template)
        )
    except ContentError as exc:
        raise content.invalid(exc) from None
    try:
        result = await _send(session, message, settings)
    except SendFailure as failure:
        raise ProviderRefused(f"The test was not sent: {failure.message}") from None
    await audit.record(
        session,
        ACTION,
        owner_id=owner.id,
        campaign_id=campaign.id,
        details={
            "channel": channel,
            "to": mask(to),
            "provider_message_id": result.provider_message_id,
        },
        origin=origin,
    )
    return TestSendResult(
        channel=channel, to=to, provider_message_id=result.provider_message_id, sent_at=now
    )
