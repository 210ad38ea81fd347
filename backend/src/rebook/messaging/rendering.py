"""Render a campaign's content for one recipient: what the preview shows and what is sent."""

from __future__ import annotations

from dataclasses import dataclass

from rebook.config import Settings
from rebook.messaging import templates
from rebook.models import Channel
from rebook.unsubscribe.tokens import UnsubscribeTarget, unsubscribe_url


@dataclass(frozen=True)
class Personalisation:
    owner_id: int
    user_id: int
    first_name: str
    last_name: str
    place_name: str
    # The place the message comes from: the unsubscribe page names it.
    place_id: int | None = None

    def variables(self, channel: Channel, settings: Settings) -> dict[str, str]:
        target = UnsubscribeTarget(self.owner_id, self.user_id, channel.value, self.place_id)
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "place_name": self.place_name,
            "unsubscribe_url": unsubscribe_url(target, settings),
        }


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    unsubscribe_url: str


@dataclass(frozen=True)
class RenderedWhatsApp:
    text: str | None
    content_sid: str | None
    content_variables: dict[str, str] | None


def render_email(
    subject: str, body_html: str, who: Personalisation, settings: Settings
) -> RenderedEmail:
    variables = who.variables(Channel.email, settings)
    html = templates.render_html(body_html, variables)
    return RenderedEmail(
        subject=templates.render_text(subject, variables).replace("\n", " ").strip(),
        html=html,
        text=templates.html_to_text(html),
        unsubscribe_url=variables["unsubscribe_url"],
    )


def render_whatsapp(
    text: str | None,
    content_sid: str | None,
    content_variables: dict[str, str] | None,
    who: Personalisation,
    settings: Settings,
) -> RenderedWhatsApp:
    variables = who.variables(Channel.whatsapp, settings)
    if content_sid:
        rendered = {
            key: templates.render_text(value, variables)
            for key, value in (content_variables or {}).items()
        }
        return RenderedWhatsApp(text=None, content_sid=content_sid, content_variables=rendered)
    return RenderedWhatsApp(
        text=templates.render_text(text or "", variables),
        content_sid=None,
        content_variables=None,
    )
