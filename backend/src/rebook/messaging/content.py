"""The messaging campaign's settings (channels, schedule: in campaigns.config) and content (in
campaign_messages, its single source), saved and read back as one `MessagingConfig`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.messaging import templates
from rebook.messaging.schemas import MessagingConfig
from rebook.models import Campaign, CampaignMessage, Channel

CONFIG_KEYS = ("channels", "scheduled_send_time", "send_immediately")


def check_and_clean(cfg: MessagingConfig) -> MessagingConfig:
    """Validate personalisation markup and sanitise the email HTML; raises InvalidInput."""
    if cfg.email_subject:
        templates.check_template(cfg.email_subject, "messaging_config.email_subject")
    email_body = cfg.email_body
    if email_body:
        email_body = templates.sanitize_html(email_body)
        templates.check_template(email_body, "messaging_config.email_body")
    if cfg.whatsapp_message:
        templates.check_template(cfg.whatsapp_message, "messaging_config.whatsapp_message")
    for key, value in (cfg.whatsapp_content_variables or {}).items():
        templates.check_template(value, f"messaging_config.whatsapp_content_variables.{key}")
    return cfg.model_copy(update={"email_body": email_body})


async def save(session: AsyncSession, campaign: Campaign, cfg: MessagingConfig) -> None:
    cfg = check_and_clean(cfg)
    previous_channels = (campaign.config or {}).get("channels")
    campaign.config = cfg.model_dump(mode="json", include=set(CONFIG_KEYS))
    if previous_channels is not None and previous_channels != campaign.config["channels"]:
        from rebook.messaging import recipients  # recipients imports this module

        await recipients.sync_channels(session, campaign)
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
