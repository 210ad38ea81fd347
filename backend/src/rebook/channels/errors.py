"""What provider errors mean for an owner, and whether sending again can help.

One table for Twilio's codes, used both when a send is refused and when a status callback
reports a failure later, so the owner reads the same sentence for the same problem."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderError:
    message: str
    transient: bool = False
    suppress: bool = False
    # The same failure awaits every other message of the campaign (its template was paused,
    # the sender's account disabled…): the campaign's WhatsApp sends stop.
    stops_sending: bool = False


def _template_stop(message: str) -> ProviderError:
    return ProviderError(
        f"{message} The campaign's other WhatsApp messages were not sent.", stops_sending=True
    )


TWILIO_ERRORS: dict[int, ProviderError] = {
    # Refused when sending.
    20003: ProviderError(
        "Twilio refused Rebook's credentials; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
    ),
    20429: ProviderError(
        "Twilio received too many requests at once; the message will be retried.",
        transient=True,
    ),
    21211: ProviderError("This number is not a valid mobile number."),
    21408: ProviderError(
        "Sending to this country is not enabled on the Twilio account; enable it in Twilio's "
        "geo permissions."
    ),
    21606: ProviderError(
        "The WhatsApp sender number is not set up on the Twilio account; check "
        "TWILIO_WHATSAPP_NUMBER."
    ),
    21610: ProviderError(
        "The customer replied STOP to this WhatsApp number and no longer receives messages.",
        suppress=True,
    ),
    21614: ProviderError("This number is not a valid mobile number."),
    63003: ProviderError("This number does not have a WhatsApp account."),
    63007: ProviderError(
        "Twilio could not find the WhatsApp sender; check TWILIO_WHATSAPP_NUMBER."
    ),
    63014: ProviderError("The customer has blocked WhatsApp messages from this business."),
    63016: ProviderError(
        "Outside WhatsApp's 24-hour window: free text only reaches a customer within 24 hours "
        "of their last message to you; choose an approved template to reach everyone."
    ),
    63018: ProviderError(
        "WhatsApp's sending rate limit for this number was reached; the message will be retried.",
        transient=True,
    ),
    63024: ProviderError(
        "WhatsApp refused this recipient: the number cannot receive WhatsApp messages from "
        "businesses."
    ),
    63027: _template_stop(
        "WhatsApp does not have this template in the language it was sent in: it may have "
        "been deleted, or not approved in that language; choose another approved template."
    ),
    63028: _template_stop(
        "The template's placeholders do not match what WhatsApp approved; pick the template "
        "again so that each placeholder gets a value."
    ),
    63040: _template_stop("WhatsApp rejected this template; choose an approved template."),
    63041: _template_stop(
        "Meta paused this template because customers blocked or reported it; Meta lifts a "
        "first pause after a few hours. Choose another approved template meanwhile."
    ),
    63042: _template_stop(
        "Meta disabled this template after repeated low quality; it can no longer be sent. "
        "Choose another approved template."
    ),
    63112: _template_stop(
        "Meta disabled the WhatsApp Business Account of this sender; nothing can be sent "
        "on WhatsApp until the account is restored in Meta Business Manager."
    ),
    63049: ProviderError(
        "WhatsApp chose not to deliver this marketing message (Meta limits how many marketing "
        "messages a person receives)."
    ),
    # Reported later by status callbacks.
    30003: ProviderError("The customer's phone was unreachable; the message was not delivered."),
    30005: ProviderError("This number is unknown or no longer exists."),
    30006: ProviderError("This number is a landline or cannot receive messages."),
    30007: ProviderError("The message was filtered by the carrier as possible spam."),
    30008: ProviderError("The message could not be delivered for an unknown reason."),
}


def twilio_error(code: int | None, http_status: int | None = None) -> ProviderError:
    """The meaning of a Twilio error code (or, without a known code, of the HTTP status)."""
    if code is not None and code in TWILIO_ERRORS:
        return TWILIO_ERRORS[code]
    if http_status == 429:
        return TWILIO_ERRORS[20429]
    if http_status is not None and http_status >= 500:
        return ProviderError(
            f"Twilio had a temporary problem (HTTP {http_status}); the message will be retried.",
            transient=True,
        )
    label = f"error {code}" if code is not None else f"HTTP {http_status}"
    return ProviderError(f"Twilio refused the message ({label}).")


def smtp_error_message(code: int) -> str:
    """One sentence for an SMTP reply code that refused a message."""
    if code in (550, 551, 553):
        return f"The recipient's mail server refused this address ({code})."
    if code == 552:
        return f"The recipient's mailbox is full or the message is too large ({code})."
    if code in (530, 534, 535):
        return (
            f"The mail server refused Rebook's login ({code}); check SMTP_USERNAME and "
            "SMTP_PASSWORD."
        )
    if 400 <= code < 500:
        return f"The mail server is temporarily unavailable ({code}); the email will be retried."
    return f"The recipient's mail server rejected the message ({code})."


NETWORK_MESSAGE = "The provider could not be reached; the message will be retried."
TIMEOUT_MESSAGE = "The provider did not answer in time; the message will be retried."
