"""The messaging campaign's settings (channels, schedule: in campaigns.config) and content (in
campaign_messages, its single source), saved and read back as one `MessagingConfig`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.config import Settings, get_settings
from rebook.errors import InvalidInput
from rebook.messaging import recipient_selection, rendering, templates
from rebook.messaging.audience import CustomerFilter, audience_reach, marketing_audience
from rebook.messaging.schemas import MessagingConfig
from rebook.messaging.templates import ContentError, EmptyValue, TooLong
from rebook.models import Campaign, CampaignMessage, CampaignRecipient, Channel, User
from rebook.whatsapp import service as whatsapp_templates
from rebook.whatsapp.service import TemplateContent

CONFIG_KEYS = ("channels", "scheduled_send_time", "scheduled_time_zone", "send_immediately")


LABELS = {
    "email_subject": "Subject",
    "email_body": "Email message",
    "whatsapp_message": "WhatsApp message",
    "whatsapp_content_sid": "WhatsApp template",
}


def label(exc: ContentError) -> str:
    """The part of the content an error is about, in an owner's words."""
    field = exc.field or ""
    if field.startswith("whatsapp_content_variables."):
        return f"WhatsApp template variable {field.rsplit('.', 1)[1]}"
    return LABELS.get(field, "Message")


def invalid(exc: ContentError, context: str = "") -> InvalidInput:
    """The 422 for content that cannot be rendered: the field in an owner's words, and the
    API field for the form to show the message under."""
    message = f"{context}{exc.message}"
    errors = [{"field": f"messaging_config.{exc.field}", "message": message}] if exc.field else []
    return InvalidInput(f"{label(exc)}: {message}", extra={"errors": errors})


def _sources(cfg: MessagingConfig) -> list[tuple[str, str]]:
    sources = [
        ("email_subject", cfg.email_subject),
        ("email_body", cfg.email_body),
        ("whatsapp_message", cfg.whatsapp_message),
    ]
    sources += [
        (f"whatsapp_content_variables.{key}", value)
        for key, value in (cfg.whatsapp_content_variables or {}).items()
    ]
    return [(field, source) for field, source in sources if source]


def _check_and_clean(
    cfg: MessagingConfig,
    audience: Audience,
    settings: Settings,
    template: TemplateContent | None,
) -> MessagingConfig:
    for field, source in _sources(cfg):
        try:
            templates.check(source)
        except ContentError as exc:
            exc.field = field
            raise invalid(exc) from None
    if template is not None:
        whatsapp_templates.check_mapping(template, cfg.whatsapp_content_variables)
    email_body = templates.sanitize_html(cfg.email_body) if cfg.email_body else cfg.email_body
    # Rendered as a real customer would receive it, then with the longest names among the
    # campaign's customers: what cannot render or would be over a limit is refused now, not
    # found at send.
    for who, context in audience.samples():
        try:
            if cfg.email_subject or email_body:
                rendering.render_email(cfg.email_subject or "", email_body or "", who, settings)
            if cfg.whatsapp_message:
                rendering.render_whatsapp_text(cfg.whatsapp_message, who, settings)
            if template is not None:
                rendering.render_whatsapp_template(
                    template, cfg.whatsapp_content_variables, who, settings
                )
        except ContentError as exc:
            personal = isinstance(exc, TooLong | EmptyValue)
            raise invalid(exc, context if personal else "") from None
    return cfg.model_copy(update={"email_body": email_body})


@dataclass(frozen=True)
class Audience:
    """Who the save check renders for: one real customer of the campaign (or a sample when
    it has none yet) and the longest names and place name among its customers."""

    real: rendering.Personalisation
    longest: rendering.Personalisation | None

    def samples(self) -> list[tuple[rendering.Personalisation, str]]:
        samples = [(self.real, "")]
        if self.longest is not None:
            samples.append((self.longest, "for the customers with the longest names, "))
        return samples


def _sample(campaign: Campaign) -> rendering.Personalisation:
    place = campaign.places[0].name if campaign.places else ""
    return rendering.Personalisation(campaign.owner_id, 0, *rendering.SAMPLE, place)


async def audience(session: AsyncSession, campaign: Campaign) -> Audience:
    """The campaign's recipients and the customers it may still add (eligible at its
    places): a real one, and the longest values among them in one aggregate query."""
    a = marketing_audience.c
    places = campaign.places
    recipients = select(
        CampaignRecipient.customer_first_name.label("first_name"),
        CampaignRecipient.customer_last_name.label("last_name"),
        CampaignRecipient.user_id.label("user_id"),
    ).where(CampaignRecipient.campaign_id == campaign.id)
    customers = (
        select(User.first_name, User.last_name, User.id.label("user_id"))
        .select_from(marketing_audience)
        .join(User, User.id == a.user_id)
        .where(
            a.owner_id == campaign.owner_id,
            a.marketable,
            audience_reach(CustomerFilter.all),
            a.place_ids.overlap(sorted(p.id for p in places)),
        )
    )
    people = union_all(recipients, customers).subquery()
    longest_first, longest_last, top_user = (
        await session.execute(
            select(
                func.max(func.length(people.c.first_name)),
                func.max(func.length(people.c.last_name)),
                func.max(people.c.user_id),
            )
        )
    ).one()
    place = places[0].name if places else ""
    first_recipient = recipients.order_by(CampaignRecipient.id).limit(1)
    real = (await session.execute(first_recipient)).first()
    if real is None:
        real = (await session.execute(customers.order_by(User.id).limit(1))).first()
    if real is None:
        return Audience(real=_sample(campaign), longest=None)
    longest_place = max((p.name for p in places), key=len, default="")
    return Audience(
        real=rendering.Personalisation(
            campaign.owner_id, real.user_id, real.first_name, real.last_name, place
        ),
        longest=rendering.Personalisation(
            campaign.owner_id,
            int(top_user),
            "W" * int(longest_first or 0),
            "W" * int(longest_last or 0),
            longest_place,
        ),
    )


async def check_and_clean(
    session: AsyncSession, campaign: Campaign, cfg: MessagingConfig
) -> MessagingConfig:
    """Check the personalisation markup and the WhatsApp template (approved, each
    placeholder mapped), sanitise the email HTML and render the content for the
    campaign's customers, off the event loop; raises InvalidInput in an owner's words."""
    settings = get_settings()
    template = None
    if cfg.whatsapp_content_sid:
        template = await whatsapp_templates.sendable_template(
            session, settings, cfg.whatsapp_content_sid
        )
    if any("{{" in source for _, source in _sources(cfg)):
        who = await audience(session, campaign)
    else:  # no variables: the same text for everyone, no need to read the audience
        who = Audience(real=_sample(campaign), longest=None)
    try:
        return await templates.off_loop(lambda: _check_and_clean(cfg, who, settings, template))
    except ContentError as exc:
        raise invalid(exc) from None


async def save(session: AsyncSession, campaign: Campaign, cfg: MessagingConfig) -> None:
    cfg = await check_and_clean(session, campaign, cfg)
    previous_channels = (campaign.config or {}).get("channels")
    campaign.config = cfg.model_dump(mode="json", include=set(CONFIG_KEYS))
    if previous_channels is not None and previous_channels != campaign.config["channels"]:
        await recipient_selection.sync_channels(session, campaign)
    existing = {
        m.channel: m
        for m in await session.scalars(
            select(CampaignMessage).where(CampaignMessage.campaign_id == campaign.id)
        )
    }
    wanted = {
        Channel.email: (cfg.email_subject is not None or cfg.email_body is not None),
        Channel.whatsapp: (
            cfg.whatsapp_message is not None or cfg.whatsapp_content_sid is not None
        ),
    }
    for channel, has_content in wanted.items():
        message = existing.get(channel)
        if not has_content:
            if message is not None:
                await session.delete(message)
            continue
        if message is None:
            message = CampaignMessage(campaign_id=campaign.id, channel=channel)
            session.add(message)
        if channel == Channel.email:
            message.subject = cfg.email_subject
            message.message_body = cfg.email_body or ""
        else:
            message.message_body = cfg.whatsapp_message or ""
            message.content_sid = cfg.whatsapp_content_sid
            message.template_variables = cfg.whatsapp_content_variables
    await session.flush()


def _assemble(campaign: Campaign, messages: Sequence[CampaignMessage]) -> MessagingConfig:
    values = dict(campaign.config or {})
    values.setdefault("channels", ["email"])
    for m in messages:
        if m.channel == Channel.email:
            values["email_subject"] = m.subject
            values["email_body"] = m.message_body
        elif m.channel == Channel.whatsapp:
            values["whatsapp_message"] = m.message_body or None
            values["whatsapp_content_sid"] = m.content_sid
            values["whatsapp_content_variables"] = m.template_variables
    return MessagingConfig.model_validate(values)


async def load_many(
    session: AsyncSession, campaigns: Sequence[Campaign]
) -> dict[int, MessagingConfig]:
    """The MessagingConfig of each messaging campaign, in one query."""
    ids = [c.id for c in campaigns]
    if not ids:
        return {}
    messages = (
        await session.scalars(select(CampaignMessage).where(CampaignMessage.campaign_id.in_(ids)))
    ).all()
    by_campaign: dict[int, list[CampaignMessage]] = {i: [] for i in ids}
    for m in messages:
        by_campaign[m.campaign_id].append(m)
    return {c.id: _assemble(c, by_campaign[c.id]) for c in campaigns}


async def load(session: AsyncSession, campaign: Campaign) -> MessagingConfig:
    return (await load_many(session, [campaign]))[campaign.id]
