"""Render a campaign's content for one recipient: what the preview shows, what the save check
tries for real customers, and what is sent. The channels' limits apply here, to the rendered
text: one rule for all three."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rebook.config import Settings
from rebook.messaging import templates
from rebook.messaging.schemas import EMAIL_SUBJECT_MAX_CHARS, WHATSAPP_MAX_CHARS
from rebook.messaging.templates import ContentError, EmptyValue, TooLong
from rebook.models import Channel
from rebook.unsubscribe.tokens import UnsubscribeTarget, unsubscribe_url
from rebook.whatsapp.service import TemplateContent

# Whom content is rendered for when a campaign has no customer yet (preview, save check).
SAMPLE = ("Alex", "Sample")


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
class RenderedTemplate:
    content_sid: str
    # What the customer reads: the template's text with its placeholders filled in.
    text: str
    content_variables: dict[str, str]


def whatsapp_length(text: str) -> int:
    """A WhatsApp text's length as Twilio counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _field(
    field: str, render: Callable[[str, dict[str, str]], str], source: str, variables: dict[str, str]
) -> str:
    try:
        return render(source, variables)
    except ContentError as exc:
        exc.field = field
        raise


def render_email(
    subject: str, body_html: str, who: Personalisation, settings: Settings
) -> RenderedEmail:
    """Raises ContentError (TooLong when over a limit) naming the field."""
    variables = who.variables(Channel.email, settings)
    html = _field("email_body", templates.render_html, body_html, variables)
    rendered_subject = _field("email_subject", templates.render_text, subject, variables)
    rendered_subject = rendered_subject.replace("\n", " ").strip()
    if len(rendered_subject) > EMAIL_SUBJECT_MAX_CHARS:
        raise TooLong(
            f"the subject would be {len(rendered_subject):,} characters long; the limit is "
            f"{EMAIL_SUBJECT_MAX_CHARS}.",
            field="email_subject",
        )
    return RenderedEmail(
        subject=rendered_subject,
        html=html,
        text=templates.html_to_text(html),
        unsubscribe_url=variables["unsubscribe_url"],
    )


def _within_whatsapp_limit(text: str, field: str) -> str:
    length = whatsapp_length(text)
    if length > WHATSAPP_MAX_CHARS:
        raise TooLong(
            f"the WhatsApp message would be {length:,} characters long; WhatsApp allows "
            f"{WHATSAPP_MAX_CHARS:,} (an emoji counts as 2).",
            field=field,
        )
    return text


def render_whatsapp_text(text: str, who: Personalisation, settings: Settings) -> str:
    """The free text for one customer; raises ContentError (TooLong over WhatsApp's limit)."""
    variables = who.variables(Channel.whatsapp, settings)
    body = _field("whatsapp_message", templates.render_text, text, variables)
    return _within_whatsapp_limit(body, "whatsapp_message")


def render_whatsapp_template(
    template: TemplateContent,
    mapping: dict[str, str] | None,
    who: Personalisation,
    settings: Settings,
) -> RenderedTemplate:
    """The template's placeholders filled for one customer, and the text they read.
    WhatsApp refuses an empty value, and values with line breaks or runs of spaces, so a
    value is written on one line; raises EmptyValue, TooLong (over the limit) or
    ContentError, naming the field."""
    variables = who.variables(Channel.whatsapp, settings)
    values: dict[str, str] = {}
    for key in template.placeholders:
        field = f"whatsapp_content_variables.{key}"
        value = " ".join(
            _field(field, templates.render_text, (mapping or {}).get(key, ""), variables).split()
        )
        if not value:
            raise EmptyValue(
                "{{" + key + "}} would be empty for this customer; give it a default value, "
                'like {{ first_name | default("there") }}.',
                field=field,
            )
        values[key] = value
    text = _within_whatsapp_limit(template.text(values), "whatsapp_content_sid")
    return RenderedTemplate(content_sid=template.content_sid, text=text, content_variables=values)
