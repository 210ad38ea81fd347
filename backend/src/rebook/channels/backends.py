"""The providers named by the settings (`EMAIL_BACKEND`, `WHATSAPP_BACKEND`).

A provider's module is imported only when it is chosen: the Twilio SDK is slow to import,
and the outbox is all a development machine uses."""

from __future__ import annotations

from rebook.channels.base import EmailSender, TemplateCatalog, WhatsAppSender
from rebook.config import Settings


def email_sender(settings: Settings) -> EmailSender:
    """The email sender named by `EMAIL_BACKEND`."""
    if settings.email_backend == "smtp":
        from rebook.channels.smtp import SmtpEmailSender

        return SmtpEmailSender(settings)
    from rebook.channels.outbox import OutboxEmailSender

    return OutboxEmailSender(settings.email_from)


def whatsapp_sender(settings: Settings) -> WhatsAppSender:
    """The WhatsApp sender named by `WHATSAPP_BACKEND`."""
    if settings.whatsapp_backend == "twilio":
        from rebook.channels.twilio import TwilioWhatsAppSender

        return TwilioWhatsAppSender(settings)
    from rebook.channels.outbox import OutboxWhatsAppSender

    return OutboxWhatsAppSender()


def template_catalog(settings: Settings) -> TemplateCatalog:
    """Where the WhatsApp templates come from: the Twilio account's Content API, or the
    outbox's demo templates (nothing leaves the machine)."""
    if settings.whatsapp_backend == "twilio":
        from rebook.channels.twilio import TwilioTemplateCatalog

        return TwilioTemplateCatalog(settings)
    from rebook.channels.outbox import OutboxTemplateCatalog

    return OutboxTemplateCatalog()
