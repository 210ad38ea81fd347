"""Preview: the campaign's messages rendered for one recipient or customer, or a sample."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.config import Settings
from rebook.errors import NotFound
from rebook.messaging import content, rendering, templates
from rebook.messaging.audience import eligible
from rebook.messaging.schemas import MessagingConfig
from rebook.messaging.templates import ContentError
from rebook.models import Campaign, CampaignRecipient, User


class PreviewCustomer(BaseModel):
    user_id: int | None
    name: str


class EmailPreview(BaseModel):
    subject: str
    html: str
    text: str


class WhatsAppPreview(BaseModel):
    text: str | None
    content_sid: str | None
    content_variables: dict[str, str] | None


class PreviewResponse(BaseModel):
    customer: PreviewCustomer
    email: EmailPreview | None
    whatsapp: WhatsAppPreview | None


async def personalisation_for(
    session: AsyncSession, campaign: Campaign, user_id: int | None
) -> tuple[rendering.Personalisation, PreviewCustomer]:
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
        return who, PreviewCustomer(
            user_id=recipient.user_id,
            name=f"{who.first_name} {who.last_name}".strip(),
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
        return who, PreviewCustomer(user_id=customer.id, name=customer.full_name)
    who = rendering.Personalisation(campaign.owner_id, 0, *rendering.SAMPLE, default_place)
    return who, PreviewCustomer(user_id=None, name=" ".join(rendering.SAMPLE))


def _render(
    cfg: MessagingConfig, who: rendering.Personalisation, settings: Settings
) -> tuple[EmailPreview | None, WhatsAppPreview | None]:
    email = None
    if "email" in cfg.channels and (cfg.email_subject or cfg.email_body):
        rendered = rendering.render_email(
            cfg.email_subject or "", cfg.email_body or "", who, settings
        )
        email = EmailPreview(subject=rendered.subject, html=rendered.html, text=rendered.text)
    whatsapp = None
    if "whatsapp" in cfg.channels and (cfg.whatsapp_message or cfg.whatsapp_content_sid):
        wa = rendering.render_whatsapp(
            cfg.whatsapp_message,
            cfg.whatsapp_content_sid,
            cfg.whatsapp_content_variables,
            who,
            settings,
        )
        whatsapp = WhatsAppPreview(
            text=wa.text, content_sid=wa.content_sid, content_variables=wa.content_variables
        )
    return email, whatsapp


async def preview(
    session: AsyncSession, campaign: Campaign, user_id: int | None, settings: Settings
) -> PreviewResponse:
    """Rendered off the event loop, bounded in time; content that cannot be rendered for
    this customer (saved before today's checks, or over a limit with their name) is a 422."""
    cfg = await content.load(session, campaign)
    who, customer = await personalisation_for(session, campaign, user_id)
    try:
        email, whatsapp = await templates.off_loop(lambda: _render(cfg, who, settings))
    except ContentError as exc:
        raise content.invalid(exc) from None
    return PreviewResponse(customer=customer, email=email, whatsapp=whatsapp)
