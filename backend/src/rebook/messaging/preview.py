"""Preview: the campaign's messages rendered for one recipient or customer, or a sample."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.config import Settings
from rebook.delivery import reasons
from rebook.errors import NotFound
from rebook.messaging import content, rendering, templates
from rebook.messaging.audience import eligible
from rebook.messaging.schemas import MessagingConfig
from rebook.messaging.templates import ContentError
from rebook.models import Campaign, CampaignRecipient, User, WhatsAppServiceWindow
from rebook.whatsapp import service as whatsapp_templates
from rebook.whatsapp import windows
from rebook.whatsapp.service import TemplateContent


class PreviewCustomer(BaseModel):
    user_id: int | None
    name: str


class EmailPreview(BaseModel):
    subject: str
    html: str
    text: str


class TemplatePreview(BaseModel):
    content_sid: str
    name: str
    # The template's text with its placeholders filled in for this customer.
    text: str
    buttons: list[str]
    content_variables: dict[str, str]


class WhatsAppPreview(BaseModel):
    # The free text, for a customer inside their 24-hour window.
    text: str | None
    # The approved template, for everyone else.
    template: TemplatePreview | None
    window_open: bool | None = Field(
        description="Whether this customer wrote in the last 24 hours; null for a sample."
    )
    receives: Literal["text", "template"] | None = Field(
        description="What this customer would be sent now; null when nothing can arrive "
        "(see skipped_reason), or for a sample customer."
    )
    skipped_reason: str | None


class PreviewResponse(BaseModel):
    customer: PreviewCustomer
    email: EmailPreview | None
    whatsapp: WhatsAppPreview | None


async def personalisation_for(
    session: AsyncSession, campaign: Campaign, user_id: int | None
) -> tuple[rendering.Personalisation, PreviewCustomer, str | None]:
    """Whom the preview renders for, and their WhatsApp number (None for a sample)."""
    place_names = {p.id: p.name for p in campaign.places}
    default_place = campaign.places[0].name if campaign.places else ""
    recipient_query = select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
    if user_id is not None:
        recipient_query = recipient_query.where(CampaignRecipient.user_id == user_id)
    recipient = await session.scalar(recipient_query.order_by(CampaignRecipient.id).limit(1))
    if recipient is not None:
        who = rendering.Personalisation(
            owner_id=campaign.owner_id,
            user_id=recipient.user_id,
            first_name=recipient.customer_first_name,
            last_name=recipient.customer_last_name,
            place_name=place_names.get(recipient.place_id or -1, default_place),
        )
        return (
            who,
            PreviewCustomer(
                user_id=recipient.user_id, name=f"{who.first_name} {who.last_name}".strip()
            ),
            recipient.customer_phone_e164,
        )
    if user_id is not None:
        customer = await session.scalar(
            select(User).where(
                and_(User.id == user_id, eligible(campaign.owner_id, campaign.place_ids))
            )
        )
        if customer is None:
            raise NotFound(f"Customer {user_id} not found among this campaign's customers.")
        who = rendering.Personalisation(
            campaign.owner_id, customer.id, customer.first_name, customer.last_name, default_place
        )
        return (
            who,
            PreviewCustomer(user_id=customer.id, name=customer.full_name),
            customer.phone_e164,
        )
    who = rendering.Personalisation(campaign.owner_id, 0, *rendering.SAMPLE, default_place)
    return who, PreviewCustomer(user_id=None, name=" ".join(rendering.SAMPLE)), None


def _render(
    cfg: MessagingConfig,
    who: rendering.Personalisation,
    settings: Settings,
    template: TemplateContent | None,
    window_open: bool | None,
) -> tuple[EmailPreview | None, WhatsAppPreview | None]:
    email = None
    if "email" in cfg.channels and (cfg.email_subject or cfg.email_body):
        rendered = rendering.render_email(
            cfg.email_subject or "", cfg.email_body or "", who, settings
        )
        email = EmailPreview(subject=rendered.subject, html=rendered.html, text=rendered.text)
    whatsapp = None
    if "whatsapp" in cfg.channels and (cfg.whatsapp_message or template is not None):
        text = (
            rendering.render_whatsapp_text(cfg.whatsapp_message, who, settings)
            if cfg.whatsapp_message
            else None
        )
        template_preview = None
        if template is not None:
            filled = rendering.render_whatsapp_template(
                template, cfg.whatsapp_content_variables, who, settings
            )
            template_preview = TemplatePreview(
                content_sid=template.content_sid,
                name=template.name,
                text=filled.text,
                buttons=list(template.buttons),
                content_variables=filled.content_variables,
            )
        receives = None
        if window_open is not None:
            receives = windows.choose(
                has_text=text is not None,
                has_template=template is not None,
                window_open=window_open,
            )
        whatsapp = WhatsAppPreview(
            text=text,
            template=template_preview,
            window_open=window_open,
            receives=receives.value if receives is not None else None,
            skipped_reason=reasons.OUTSIDE_WINDOW.message
            if window_open is not None and receives is None
            else None,
        )
    return email, whatsapp


async def _window_open(session: AsyncSession, phone_e164: str | None, now: datetime) -> bool:
    if phone_e164 is None:
        return False  # no number: nothing reaches them on WhatsApp
    last = await session.scalar(
        select(WhatsAppServiceWindow.last_inbound_at).where(
            WhatsAppServiceWindow.phone_e164 == phone_e164
        )
    )
    return windows.is_open(last, now)


async def preview(
    session: AsyncSession,
    campaign: Campaign,
    user_id: int | None,
    settings: Settings,
    now: datetime | None = None,
) -> PreviewResponse:
    """Rendered off the event loop, bounded in time; content that cannot be rendered for
    this customer (saved before today's checks, or over a limit with their name) is a 422.
    A template no longer in the account's list is previewed as its free text alone."""
    cfg = await content.load(session, campaign)
    who, customer, phone_e164 = await personalisation_for(session, campaign, user_id)
    template = None
    if cfg.whatsapp_content_sid:
        row = await whatsapp_templates.cached_template(session, settings, cfg.whatsapp_content_sid)
        if row is not None:
            template = whatsapp_templates.content_of(row.content_sid, row.friendly_name, row.types)
    window_open = None  # a sample customer has no window
    if customer.user_id is not None:
        window_open = await _window_open(session, phone_e164, now or datetime.now(UTC))
    try:
        email, whatsapp = await templates.off_loop(
            lambda: _render(cfg, who, settings, template, window_open)
        )
    except ContentError as exc:
        raise content.invalid(exc) from None
    return PreviewResponse(customer=customer, email=email, whatsapp=whatsapp)
